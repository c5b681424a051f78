"""Error figures between a legacy (reference) array and a port array."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Figures:
    """``max_abs``, ``max_rel = max_abs / max|legacy|`` and ``mean_abs`` of ``port - legacy``.

    ``max_rel`` is 0 when both are all zero and infinite when only the
    legacy array is.  Computed in float64.  Non-finite values agree when
    both stacks have the same one (NaN with NaN, +inf with +inf); anywhere
    else a non-finite value makes the difference infinite.
    ``non_finite`` counts the legacy array's non-finite values.
    """

    max_abs: float
    max_rel: float
    mean_abs: float
    legacy_max: float
    shape: tuple[int, ...]
    non_finite: int = 0

    def as_dict(self) -> dict:
        return asdict(self) | {"shape": list(self.shape)}


def _abs_diff(ref: np.ndarray, port: np.ndarray) -> np.ndarray:
    finite = np.isfinite(ref) & np.isfinite(port)
    same = (np.isnan(ref) & np.isnan(port)) | (np.isinf(ref) & (ref == port))
    with np.errstate(invalid="ignore"):
        return np.where(finite, np.abs(port - ref), np.where(same, 0.0, np.inf))


def figures(legacy: np.ndarray, port: np.ndarray, name: str = "array") -> Figures:
    """Figures for two arrays of the same shape; a shape mismatch is an error naming ``name``."""
    if legacy.shape != port.shape:
        raise ValueError(f"{name}: legacy shape {legacy.shape} != port shape {port.shape}")
    ref = legacy.astype(np.float64)
    diff = _abs_diff(ref, port.astype(np.float64))
    max_abs = float(diff.max(initial=0.0))
    finite_ref = np.abs(ref[np.isfinite(ref)])
    legacy_max = float(finite_ref.max(initial=0.0))
    if legacy_max > 0:
        max_rel = max_abs / legacy_max
    else:
        max_rel = 0.0 if max_abs == 0 else float("inf")
    return Figures(
        max_abs,
        max_rel,
        float(diff.mean()) if diff.size else 0.0,
        legacy_max,
        tuple(legacy.shape),
        int(ref.size - finite_ref.size),
    )


def bitwise_equal(legacy: np.ndarray, port: np.ndarray) -> bool:
    """Same shape, same dtype size and the same bytes (NaN payloads included)."""
    return (
        legacy.shape == port.shape
        and legacy.dtype.itemsize == port.dtype.itemsize
        and np.ascontiguousarray(legacy).tobytes() == np.ascontiguousarray(port).tobytes()
    )
