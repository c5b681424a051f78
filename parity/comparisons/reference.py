"""Whole runs of the pycaffe reference loop (``legacy_caffe.mfv_reference``) as ``MFVRun`` objects."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from parity.stacks import LegacyStack
from port.mfv.loop import MFVConfig, MFVRun, TraceRow
from port.mfv.outputs import read_trace


def reference_params(config: MFVConfig, seed: int, name: str) -> dict:
    """The job parameters shared by ``mfv_run`` and ``mfv_lockstep``."""
    if not config.legacy:
        raise ValueError("the pycaffe reference runs the legacy loop only; drop --no-legacy")
    target = config.target
    if target.y is not None and target.y != target.x:
        raise ValueError(
            f"the reference takes one spatial position xy for conv targets, got y={target.y}, x={target.x}"
        )
    return {
        "octaves": [o.as_dict() for o in config.octaves],
        "layer": target.layer,
        "unit": target.unit,
        "xy": target.y or 0,
        "seed": seed,
        "name": name,
    }


def run_reference(
    stack: LegacyStack,
    prototxt: Path,
    weights: Path,
    config: MFVConfig,
    seed: int,
    start: Path | None,
    *,
    name: str,
    threads: int = 1,
    timeout: float | None = None,
) -> tuple[MFVRun, bytes, dict]:
    """Run the reference loop; return the run, the reference's own JPEG bytes and its manifest."""
    inputs = {"prototxt": prototxt, "weights": weights}
    if start is not None:
        inputs["start"] = start
    with tempfile.TemporaryDirectory(prefix="mfv-reference-") as tmp:
        result = stack.run(
            "mfv_run", reference_params(config, seed, name), inputs, threads=threads, timeout=timeout, out_dir=Path(tmp)
        )
        image = np.load(result.files["final.npy"], allow_pickle=False)
        trace = [TraceRow(**row, guarded=False) for row in read_trace(result.files["trace.csv"])]
        jpeg = next(path for key, path in result.files.items() if key.endswith(".jpg")).read_bytes()
    return MFVRun(seed, image, trace), jpeg, result.manifest
