"""Error figures between a legacy (reference) array and a port array."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Figures:
    """``max_abs``, ``max_rel = max_abs / max|legacy|`` and ``mean_abs`` of ``port - legacy``.

    ``max_rel`` is 0 when both are all zero and infinite when only the
    legacy array is.  Computed in float64.
    """

    max_abs: float
    max_rel: float
    mean_abs: float
    legacy_max: float
    shape: tuple[int, ...]

    def as_dict(self) -> dict:
        return asdict(self) | {"shape": list(self.shape)}


def figures(legacy: np.ndarray, port: np.ndarray, name: str = "array") -> Figures:
    """Figures for two arrays of the same shape; a shape mismatch is an error naming ``name``."""
    if legacy.shape != port.shape:
        raise ValueError(f"{name}: legacy shape {legacy.shape} != port shape {port.shape}")
    ref = legacy.astype(np.float64)
    diff = np.abs(port.astype(np.float64) - ref)
    max_abs = float(diff.max(initial=0.0))
    legacy_max = float(np.abs(ref).max(initial=0.0))
    if legacy_max > 0:
        max_rel = max_abs / legacy_max
    else:
        max_rel = 0.0 if max_abs == 0 else float("inf")
    return Figures(max_abs, max_rel, float(diff.mean()) if diff.size else 0.0, legacy_max, tuple(legacy.shape))


def bitwise_equal(legacy: np.ndarray, port: np.ndarray) -> bool:
    """Same shape, same dtype size and the same bytes (NaN payloads included)."""
    return (legacy.shape == port.shape and legacy.dtype.itemsize == port.dtype.itemsize
            and np.ascontiguousarray(legacy).tobytes() == np.ascontiguousarray(port).tobytes())
