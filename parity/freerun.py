"""Parity level 5, free runs: whole runs from the same seed and start, judged against legacy's own spread.

The MFV loop is chaotic: one max-pool window resolved the other way at
step 0 is enough for two runs to part.  So the port's distance from the
legacy reference (1 BLAS thread) is set beside the reference's distance from
itself with 2 BLAS threads - the noise floor.  A port is as faithful as it
can be when it is no further from legacy than legacy is from legacy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from port.mfv.loop import MFVRun


@dataclass(frozen=True)
class ImageFigures:
    """Two final images (H x W x 3, grey levels) compared."""

    max_abs: float
    within_one: float
    psnr_db: float
    shape: tuple[int, ...]

    def as_dict(self) -> dict:
        return {
            "max_abs": self.max_abs,
            "within_one": self.within_one,
            "psnr_db": self.psnr_db,
            "shape": list(self.shape),
        }


def image_figures(reference: np.ndarray, other: np.ndarray) -> ImageFigures:
    """max |a - b|, the share of values within one grey level and PSNR (peak 255); NaN counts as far."""
    if reference.shape != other.shape:
        raise ValueError(f"final images differ in shape: {reference.shape} vs {other.shape}")
    diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    diff = np.where(np.isfinite(diff), diff, np.inf)
    finite = diff[np.isfinite(diff)]
    mse = float(np.mean(np.square(diff))) if finite.size == diff.size else float("inf")
    psnr = float("inf") if mse == 0 else (10 * math.log10(255.0**2 / mse) if math.isfinite(mse) else float("-inf"))
    return ImageFigures(float(diff.max()), float(np.mean(diff <= 1.0)), psnr, tuple(reference.shape))


def divergence(reference: MFVRun, other: MFVRun) -> list[float]:
    """Per iteration: |target activation difference| / max(1, |reference activation|)."""
    out = []
    for a, b in zip(reference.trace, other.trace):
        scale = max(1.0, abs(a.target_act)) if math.isfinite(a.target_act) else 1.0
        both_nan = math.isnan(a.target_act) and math.isnan(b.target_act)
        out.append(0.0 if both_nan else abs(a.target_act - b.target_act) / scale)
    return [d if math.isfinite(d) else float("inf") for d in out]


def first_divergence(reference: MFVRun, other: MFVRun, threshold: float) -> int | None:
    """The first iteration whose target activations differ by more than ``threshold`` (relative), or None."""
    return next((k for k, d in enumerate(divergence(reference, other)) if d > threshold), None)


@dataclass(frozen=True)
class TraceAgreement:
    """Both traces' lengths, whether offsets and schedules match at every iteration, and the first that does not."""

    iterations: list[int]
    offsets_and_schedules_identical: bool
    first_mismatch: int | None


def trace_agreement(reference: MFVRun, other: MFVRun) -> TraceAgreement:
    """Offsets and schedules must match at every iteration: the same seed draws the same crops."""
    rows = list(zip(reference.trace, other.trace))
    mismatched = [
        a.iteration
        for a, b in rows
        if (a.ox, a.oy, a.step_size, a.denoise_weight, a.layer) != (b.ox, b.oy, b.step_size, b.denoise_weight, b.layer)
    ]
    return TraceAgreement(
        [len(reference.trace), len(other.trace)],
        not mismatched and len(reference.trace) == len(other.trace),
        mismatched[0] if mismatched else None,
    )


def within_floor(port: ImageFigures, floor: ImageFigures, psnr_margin_db: float, within_one_margin: float) -> bool:
    """Is the port no further from legacy than legacy is from itself (with the stated margins)?"""
    return port.psnr_db >= floor.psnr_db - psnr_margin_db and port.within_one >= floor.within_one - within_one_margin
