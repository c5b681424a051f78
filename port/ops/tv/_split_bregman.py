"""scikit-image's split-Bregman TV iteration on a batch of (C, H, W) images, each stopping on its own.

This is ``skimage.restoration._denoise_cy._denoise_tv_bregman`` (the same
in scikit-image 0.18 and 0.26) on planes ``f`` of one image, lambda =
2 weight.  The image is framed by fixed ghost cells: row -1 repeats row 1
and column -1 column 1 (reflection), row H repeats row H-1 and column W
column W-1 (edge).  ``b`` starts at 0 (or at ``b0``) and ``d`` equal to it.
Each iteration sweeps the pixels in row-major order; at each pixel, from
``t = grad u + b`` with forward differences of the previous iterate,

    isotropic:   b <- t / (1 + lambda |t|)      (|t| over the two components)
    anisotropic: b <- clip(t, -1/lambda, 1/lambda)
    d <- t - b

and ``u`` gets the Gauss-Seidel update

    u = (lambda (u_N + u_S + u_W + u_E + (d - b)_W,x + (d - b)_N,y
                 - (d - b)_x - (d - b)_y) + weight f) / (weight + 4 lambda)

where ``N``/``W`` are the neighbours above/left, already updated in this
sweep, and the unlabelled ``d - b`` are the previous sweep's.  d and b
depend on the previous iterate only.  After iteration ``i`` an image stops
unless ``i < max_num_iter`` and

    rmse = sqrt(sum over (C, H, W) of (u_i - u_(i-1))^2 / (C H W)) > eps.

Two kernels run it, with the same results to float64 rounding:

* ``"sequential"`` (:mod:`port.ops.tv._sequential`, CPU): scikit-image's
  own pixel-by-pixel loop, compiled, with the batch's images (and channels)
  as SIMD lanes and the batch split over threads; bitwise scikit-image in
  float64 with the channels joint (per channel about 1e-13: scikit-image
  also carries the previous channel's values into the ghost cells of b and
  d, where they cancel).
* ``"fft"`` (:mod:`port.ops.tv._fft`, any device): d and b for all pixels
  at once, and the u-update as one exact triangular solve by FFT
  (:func:`port.ops.tv._gauss_seidel.sweep`); the whole batch in each tensor
  operation.  Agrees with scikit-image to about 1e-12 on 0..255 data.

``"auto"`` picks ``"sequential"`` for CPU tensors and ``"fft"`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from port.ops.tv._fft import split_bregman_fft
from port.ops.tv._sequential import split_bregman_sequential

Method = Literal["auto", "sequential", "fft"]
METHODS: tuple[str, ...] = ("auto", "sequential", "fft")


@dataclass(frozen=True)
class BregmanRun:
    """A finished batch: ``u`` (B, C, H, W), ``iterations`` (B,) int64 and ``rmse`` (B, max_num_iter)
    float64, the stopping value after each iteration (NaN after an image stopped)."""

    u: torch.Tensor
    iterations: torch.Tensor
    rmse: torch.Tensor


def split_bregman(
    f: torch.Tensor,
    weight: torch.Tensor,
    max_num_iter: int,
    eps: float,
    isotropic: bool,
    b0: torch.Tensor | None = None,
    method: Method = "auto",
) -> BregmanRun:
    """Run the iteration on ``f`` (B, C, H, W), H and W >= 2, with one weight per image (B,).

    ``weight`` and ``eps`` are taken in ``f``'s dtype, as scikit-image casts
    them; ``b0`` (B, C, H, W) is the starting ``b`` (scikit-image's
    per-channel mode starts a channel from the previous channel's result).
    ``method`` picks the kernel (see the module docstring).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "auto":
        method = "sequential" if f.device.type == "cpu" else "fft"
    if method == "sequential" and f.device.type != "cpu":
        raise ValueError(f"method 'sequential' runs on the CPU; the image is on {f.device}")
    eps = float(torch.tensor(eps, dtype=f.dtype))
    kernel = split_bregman_sequential if method == "sequential" else split_bregman_fft
    return BregmanRun(*kernel(f, weight.to(f.dtype), max_num_iter, eps, isotropic, b0))
