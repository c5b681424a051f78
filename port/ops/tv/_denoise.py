"""``skimage.restoration.denoise_tv_bregman``, exactly, batched, on numpy arrays or torch tensors.

The algorithm, its edge extension and its stopping rule are those of
scikit-image 0.18-0.26 (``_denoise_cy._denoise_tv_bregman``); see
:mod:`port.ops.tv._split_bregman` for the formulas and the two kernels: on a
CPU scikit-image's own loop, compiled (bitwise equal in float64 with the channels joint), and on a
GPU a vectorised form whose in-place Gauss-Seidel sweep is solved exactly
by FFT (:mod:`port.ops.tv._gauss_seidel`; about 1e-12 on 0..255 data).  The
iteration counts agree too, except where a stopping value lies within
rounding of ``eps``.

Channels, as in scikit-image:

* ``channel_axis=None`` (the legacy MFV call, and the only behaviour before
  scikit-image 0.17): a (H, W, C) image is one problem; its channels do not
  interact except through the shared stopping value, which sums over all
  of them.
* ``channel_axis=k``: each channel stops on its own, with ``rmse`` over
  H x W.  scikit-image runs the channels in order through one buffer and
  starts channel ``c``'s ``b`` and ``d`` from channel ``c - 1``'s result
  (not from zero); that is reproduced, so channel 0 equals a separate
  single-channel call and the others do not.

A (H, W, 1) result is squeezed to (H, W), as scikit-image's is.  Input of
another dtype than float32 or float64 is refused rather than rescaled (as
``img_as_float`` would do for integers).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from port.ops.tv._split_bregman import BregmanRun, Method, split_bregman

_FLOAT_DTYPES = (torch.float32, torch.float64)
Array = np.ndarray | torch.Tensor


class BregmanResult(NamedTuple):
    """``image``: the denoised image(s); ``iterations``: iterations run, int64, shaped as the batch
    (then channels in per-channel mode); ``rmse``: float64, the stopping value after each iteration,
    shaped as ``iterations`` plus ``max_num_iter`` (NaN after the stop)."""

    image: Array
    iterations: Array
    rmse: Array


def tv_bregman(
    image: Array,
    weight: float | Sequence[float] | Array,
    max_num_iter: int = 100,
    eps: float = 1e-3,
    isotropic: bool = True,
    channel_axis: int | None = None,
    *,
    batch: bool = False,
    return_iterations: bool = False,
    method: Method = "auto",
) -> Array | BregmanResult:
    """Split-Bregman TV denoising with scikit-image's semantics (see the module docstring).

    ``image``: one (H, W) or (H, W, C) image, or with ``batch=True`` a stack
    (N, H, W) or (N, H, W, C) denoised as N independent calls, each with its
    own weight and its own stopping.  H and W must be at least 2.
    ``weight``: > 0; with ``batch=True`` one number or N of them.
    ``channel_axis`` names an axis of one image.  numpy in, numpy out;
    torch in, torch out on the same device (``iterations`` and ``rmse`` on
    the CPU).  With ``return_iterations`` the result is a
    :class:`BregmanResult`.  ``method``: ``"auto"`` (the compiled loop on
    a CPU, the FFT form elsewhere), ``"sequential"`` or ``"fft"``.
    """
    is_numpy = isinstance(image, np.ndarray)
    if not (is_numpy or isinstance(image, torch.Tensor)):
        raise ValueError(f"image must be a numpy array or a torch tensor, not {type(image).__name__}")
    x = torch.from_numpy(image) if is_numpy else image
    max_num_iter, eps = _count(max_num_iter, "max_num_iter"), _eps(eps)
    planes = _planes(x if batch else x[None], channel_axis, batch)
    weights = _weights(weight, planes.shape[0], planes.dtype, planes.device)
    if channel_axis is None:
        run = split_bregman(planes, weights, max_num_iter, eps, bool(isotropic), method=method)
    else:
        run = _per_channel(planes, weights, max_num_iter, eps, bool(isotropic), method)
    out, iterations, rmse = _images(run.u, channel_axis), run.iterations, run.rmse
    if not batch:
        out, iterations, rmse = out[0], iterations[0], rmse[0]
    if is_numpy:
        out, iterations, rmse = out.numpy(), iterations.numpy(), rmse.numpy()
    return BregmanResult(out, iterations, rmse) if return_iterations else out


def _planes(x: torch.Tensor, channel_axis: int | None, batch: bool) -> torch.Tensor:
    """A batch of images, validated, as (N, C, H, W) planes with the channels in C (a view)."""
    if x.dtype not in _FLOAT_DTYPES:
        raise ValueError(f"image must be float32 or float64, got {x.dtype} (scale integer images yourself)")
    if x.dim() not in (3, 4):
        raise ValueError(
            f"image must have shape {'(N, H, W[, C])' if batch else '(H, W[, C])'}, "
            f"got {tuple(x.shape if batch else x.shape[1:])}"
        )
    if channel_axis is not None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, int):
            raise ValueError(f"channel_axis must be an int or None, got {channel_axis!r}")
        if x.dim() != 4 or not -3 <= channel_axis <= 2:
            raise ValueError(
                f"channel_axis={channel_axis} needs (H, W, C)-like images and an axis from -3 to 2, "
                f"got images of shape {tuple(x.shape[1:])}"
            )
        x = x.movedim(channel_axis % 3 + 1, -1)
    planes = (x[..., None] if x.dim() == 3 else x).permute(0, 3, 1, 2)
    if planes.shape[-2] < 2 or planes.shape[-1] < 2:
        raise ValueError(f"image must be at least 2 x 2 pixels, got {planes.shape[-2]} x {planes.shape[-1]}")
    if not all_finite(planes):
        raise ValueError("image contains NaN or infinity")
    return planes


def all_finite(x: torch.Tensor) -> bool:
    """Whether every value of ``x`` is finite, in one pass: ``aminmax`` propagates NaN, and an infinity
    is the minimum or the maximum."""
    return x.numel() == 0 or bool(torch.isfinite(torch.stack(torch.aminmax(x))).all())


def _images(u: torch.Tensor, channel_axis: int | None) -> torch.Tensor:
    """(N, C, H, W) planes back to images, the channels where they came from; one channel squeezed
    away, as scikit-image does."""
    axis = 3 if channel_axis is None else channel_axis % 3 + 1
    out = u.permute(0, 2, 3, 1).movedim(-1, axis)
    return (out.squeeze(axis) if u.shape[1] == 1 else out).contiguous()


def _per_channel(
    planes: torch.Tensor, weights: torch.Tensor, max_num_iter: int, eps: float, isotropic: bool, method: Method
) -> BregmanRun:
    """scikit-image's channel loop: channel c starts from channel c - 1's result."""
    runs, previous = [], None
    for channel in range(planes.shape[1]):
        run = split_bregman(
            planes[:, channel : channel + 1], weights, max_num_iter, eps, isotropic, b0=previous, method=method
        )
        runs.append(run)
        previous = run.u
    return BregmanRun(
        torch.cat([r.u for r in runs], dim=1),
        torch.stack([r.iterations for r in runs], dim=1),
        torch.stack([r.rmse for r in runs], dim=1),
    )


def _weights(weight: float | Sequence[float] | Array, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    try:
        values = torch.as_tensor(
            np.asarray(weight.cpu() if isinstance(weight, torch.Tensor) else weight, dtype=np.float64)
        )
    except (TypeError, ValueError):
        raise ValueError(f"weight must be a number or one number per image, got {weight!r}") from None
    if values.dim() == 0:
        values = values.expand(n)
    if values.shape != (n,):
        raise ValueError(f"weight must be a number or {n} numbers (one per image), got shape {tuple(values.shape)}")
    if not bool((torch.isfinite(values) & (values > 0)).all()):
        raise ValueError(f"weight must be finite and positive, got {values.tolist()}")
    return values.to(dtype=dtype, device=device)


def _count(value: int, name: str) -> int:
    try:
        count = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if count < 0:
        raise ValueError(f"{name} must be >= 0, got {count}")
    return count


def _eps(value: float) -> float:
    try:
        eps = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"eps must be a number, got {value!r}") from None
    if not eps >= 0 or eps == float("inf"):
        raise ValueError(f"eps must be finite and >= 0, got {value!r}")
    return eps
