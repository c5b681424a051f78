"""Whole runs of an iterative method compared: final images, divergence over the iterations, the noise floor.

An iterative method such as MFV is chaotic: one max-pool window resolved the
other way at step 0 is enough for two runs to part.  So the port's distance
from the legacy reference (1 BLAS thread) is set beside the reference's
distance from itself with the other thread count or the other OpenBLAS
kernel - the noise floor.  A port is as faithful as it can be when it is no
further from legacy than legacy is from legacy.

Every run is seen as a :class:`RunOutcome` (a method turns its own run into
one): its final image, the target's activation at each iteration and the
bookkeeping that must be identical at each iteration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RunOutcome:
    """A whole run as the free-run judges see it: the final ``image`` (H x W x 3, grey levels), per iteration its
    number, the target's activation and the ``schedule`` that must match between runs from the same seed (crop
    offsets, step sizes ...), and why the run stopped being finite (None: it did not)."""

    image: np.ndarray
    iterations: list[int]
    activations: list[float]
    schedule: list[tuple]
    non_finite: str | None = None


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


def divergence(reference: RunOutcome, other: RunOutcome) -> list[float]:
    """Per iteration: |target activation difference| / max(1, |reference activation|)."""
    out = []
    for a, b in zip(reference.activations, other.activations):
        scale = max(1.0, abs(a)) if math.isfinite(a) else 1.0
        both_nan = math.isnan(a) and math.isnan(b)
        out.append(0.0 if both_nan else abs(a - b) / scale)
    return [d if math.isfinite(d) else float("inf") for d in out]


def first_divergence(reference: RunOutcome, other: RunOutcome, threshold: float) -> int | None:
    """The first iteration whose target activations differ by more than ``threshold`` (relative), or None."""
    return next((k for k, d in enumerate(divergence(reference, other)) if d > threshold), None)


@dataclass(frozen=True)
class TraceAgreement:
    """Both traces' lengths, whether offsets and schedules match at every iteration, and the first that does not."""

    iterations: list[int]
    offsets_and_schedules_identical: bool
    first_mismatch: int | None


def trace_agreement(reference: RunOutcome, other: RunOutcome) -> TraceAgreement:
    """Offsets and schedules must match at every iteration: the same seed draws the same crops."""
    mismatched = [
        iteration for iteration, a, b in zip(reference.iterations, reference.schedule, other.schedule) if a != b
    ]
    lengths = [len(reference.iterations), len(other.iterations)]
    return TraceAgreement(
        lengths,
        not mismatched and lengths[0] == lengths[1],
        mismatched[0] if mismatched else None,
    )


def within_floor(port: ImageFigures, floor: ImageFigures, psnr_margin_db: float, within_one_margin: float) -> bool:
    """Is the port no further from legacy than legacy is from itself (with the stated margins)?"""
    return port.psnr_db >= floor.psnr_db - psnr_margin_db and port.within_one >= floor.within_one - within_one_margin
