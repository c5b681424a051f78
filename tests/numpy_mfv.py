"""The legacy MFV loop written again, plainly, in numpy from the spec (docs/legacy-spec.md, sections 2-4).

An independent second implementation for differential tests of ``port.mfv``:
it shares no code with the port's loop.  The net is a black box that maps a
crop to the target layer's top and the gradient of the target unit; zoom and
denoising are scipy's and scikit-image's own functions, as in 2016.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.ndimage
from skimage.restoration import denoise_tv_bregman

MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)

# crop (3, h, w) float32, layer, unit -> (the layer's top for this crop (C,), d top[unit] / d crop)
Gradient = Callable[[np.ndarray, str, int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Step:
    """One iteration as the 2016 script printed and used it."""

    ox: int
    oy: int
    step_size: float
    denoise_weight: float
    best_unit: int
    target_act: float
    mean_abs_grad: float


def preprocess(rgb: np.ndarray) -> np.ndarray:
    bgr = np.asarray(rgb)[:, :, ::-1]
    chw = np.transpose(bgr, (2, 0, 1)).astype(np.float32)
    return chw - MEAN_BGR.reshape(3, 1, 1)


def deprocess(x: np.ndarray) -> np.ndarray:
    bgr = x + MEAN_BGR.reshape(3, 1, 1)
    return np.transpose(bgr[::-1], (1, 2, 0))


def python2_quotient(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return a / b


def legacy_step_size(start, end, i: int, iter_n: int) -> float:
    return float(start + python2_quotient((end - start) * i, iter_n))


def legacy_denoise_weight(start, end, i: int, iter_n: int) -> float:
    return float(start - python2_quotient(start - end * i, iter_n))


def offset(rng: np.random.RandomState, size: int, crop: int, window: float) -> int:
    drawn = rng.normal((size - crop) / 2.0, (size - crop) * window, 1)
    return int(np.clip(drawn, 0, size - crop)[0])


class SpecStep(NamedTuple):
    """The stages of section 3 on one crop (CHW BGR minus the mean, float32) and mean |g|."""

    gradient: np.ndarray
    mean_abs: np.float32
    stepped: np.ndarray
    clipped: np.ndarray
    denoised: np.ndarray


def spec_step(crop: np.ndarray, g: np.ndarray, margin: int, size: float, weight: float) -> SpecStep:
    """Section 3, steps 3-6, from the crop's gradient ``g``: margin, step, clip, denoise."""
    if margin > 0:
        kept = np.zeros_like(g)
        kept[:, margin : g.shape[1] - margin, margin : g.shape[2] - margin] = 1
        g = g * kept
    mean_abs = np.float32(np.abs(g).astype(np.float64).mean())
    moved = crop + np.float32(size / np.float64(mean_abs)) * g
    clipped = moved.copy()
    for c in range(3):
        clipped[c] = np.clip(clipped[c], -MEAN_BGR[c], 255 - MEAN_BGR[c])
    rgb = deprocess(clipped).astype(np.float64)
    smooth = denoise_tv_bregman(rgb, weight=weight, max_num_iter=100, eps=1e-3, isotropic=True, channel_axis=None)
    return SpecStep(g, mean_abs, moved, clipped, preprocess(smooth))


def gradient_step(
    crop: np.ndarray, layer: str, unit: int, margin: int, size: float, weight: float, gradient: Gradient
) -> tuple[np.ndarray, int, float, float]:
    """Section 3 on one crop: returns the new crop, the best unit, the target's activation and mean |g|."""
    top, g = gradient(crop, layer, unit)
    step = spec_step(crop, g, margin, size, weight)
    return step.denoised, int(np.argmax(top)), float(top[unit]), float(step.mean_abs)


def numpy_mfv(
    gradient: Gradient,
    octaves: list[dict],
    layer: str,
    unit: int,
    seed: int,
    crop_shape: tuple[int, int],
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, list[Step]]:
    """Section 4: the octave loop; returns the deprocessed final image and one ``Step`` per iteration."""
    h, w = crop_shape
    rng = np.random.RandomState(seed)
    image = rng.normal(175.0, 8.0, (h, w, 3))
    if start is not None:
        image = start
    x = preprocess(image)
    steps = []
    for octave in octaves:
        if octave["scale"] is not None:
            x = scipy.ndimage.zoom(x, (1, octave["scale"], octave["scale"]))
        rows, cols = x.shape[1:]
        for i in range(octave["iter_n"]):
            ox, oy = 0, 0
            if rows > h:
                ox = offset(rng, rows, h, octave["window"])
                oy = offset(rng, cols, w, octave["window"])
            size = legacy_step_size(*octave["step"], i, octave["iter_n"])
            weight = legacy_denoise_weight(*octave["denoise"], i, octave["iter_n"])
            crop = x[:, ox : ox + h, oy : oy + w].copy()
            new, best, act, mean_abs = gradient_step(
                crop, octave["layer"] or layer, unit, octave["margin"], size, weight, gradient
            )
            x[:, ox : ox + h, oy : oy + w] = new
            steps.append(Step(ox, oy, size, weight, best, act, mean_abs))
    return deprocess(x), steps
