"""Read access to a legacy ``layers`` job's arrays (key scheme: ``legacy_caffe.probes``)."""

from __future__ import annotations

import numpy as np

from parity.stacks.legacy import JobResult


class LayersDump:
    """Parameters, blobs, pool masks and per-target diffs that Caffe computed."""

    def __init__(self, result: JobResult):
        self.arrays = result.arrays
        self.job = result.manifest["job"]

    def _get(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise KeyError(f"the legacy layers job wrote no array '{key}'")
        return self.arrays[key]

    def param(self, layer: str, index: int) -> np.ndarray:
        return self._get(f"param/{layer}/{index}")

    def blob_names(self) -> list[str]:
        """Blobs in network order (without Caffe's inserted split blobs and the masks)."""
        return list(self.job["blobs"])

    def blob(self, name: str) -> np.ndarray:
        return self._get(f"blob/{name}")

    def mask(self, layer: str) -> np.ndarray:
        return self._get(f"mask/{layer}")

    def diff_names(self, target_index: int) -> list[str]:
        return list(self.job["targets"][target_index]["blobs"])

    def diff(self, target_index: int, name: str) -> np.ndarray:
        return self._get(f"diff/{target_index}/{name}")
