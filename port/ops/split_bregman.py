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
depend on the previous iterate only, so they are computed for all pixels at
once; the u-update is exactly one triangular sweep, solved by
:func:`port.ops.gauss_seidel.sweep`.  After iteration ``i`` an image stops
unless ``i < max_num_iter`` and

    rmse = sqrt(sum over (C, H, W) of (u_i - u_(i-1))^2 / (C H W)) > eps.

scikit-image accumulates that sum in the image's dtype; here it is float64.
A finished image leaves the batch, so it is not touched again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from port.ops.gauss_seidel import SWEEP_WEIGHT, sweep


@dataclass(frozen=True)
class BregmanRun:
    """A finished batch: ``u`` (B, C, H, W), ``iterations`` (B,) int64 and ``rmse`` (B, max_num_iter)
    float64, the stopping value after each iteration (NaN after an image stopped)."""

    u: torch.Tensor
    iterations: torch.Tensor
    rmse: torch.Tensor


class _Batch:
    """The state of the images still iterating: framed iterate, b, d - b and the fixed source."""

    def __init__(self, f: torch.Tensor, lam: torch.Tensor, b0: torch.Tensor | None) -> None:
        h, w = f.shape[-2:]
        self.lam = lam
        self.framed = torch.empty(f.shape[:-2] + (h + 2, w + 2), dtype=f.dtype, device=f.device)
        self.framed[..., 1:-1, 1:-1] = f
        self.framed[..., 0, 1:-1] = f[..., 1, :]
        self.framed[..., 1:-1, 0] = f[..., :, 1]
        self.framed[..., -1, 1:-1] = f[..., h - 1, :]
        self.framed[..., 1:-1, -1] = f[..., :, w - 1]
        self.bx = torch.zeros_like(f) if b0 is None else b0.clone()
        self.by = self.bx.clone()
        self.d_minus_b = torch.zeros_like(f)
        # f / 9, plus the ghost row above and column to the left as sweep inputs of the first row/column
        self.source = f / 9.0
        self.source[..., 0, :] += SWEEP_WEIGHT * self.framed[..., 0, 1:-1]
        self.source[..., :, 0] += SWEEP_WEIGHT * self.framed[..., 1:-1, 0]

    @property
    def u(self) -> torch.Tensor:
        return self.framed[..., 1:-1, 1:-1]

    def keep(self, rows: torch.Tensor) -> None:
        for name in ("lam", "framed", "bx", "by", "d_minus_b", "source"):
            setattr(self, name, getattr(self, name).index_select(0, rows))

    def step(self, isotropic: bool) -> torch.Tensor:
        """One sweep; returns u_i - u_(i-1)."""
        u, framed = self.u, self.framed
        below, right = framed[..., 2:, 1:-1], framed[..., 1:-1, 2:]
        tx = (right - u).add_(self.bx)
        ty = (below - u).add_(self.by)
        if isotropic:
            # sqrt(tx^2 + ty^2) as scikit-image writes it: IEEE operations only, so every image's
            # result is bitwise independent of the batch it runs in (hypot would not be)
            shrink = (tx * tx).add_(ty * ty).sqrt_().mul_(self.lam).add_(1.0).reciprocal_()
            torch.mul(tx, shrink, out=self.bx)
            torch.mul(ty, shrink, out=self.by)
        else:
            bound = self.lam.reciprocal()
            torch.clamp(tx, -bound, bound, out=self.bx)
            torch.clamp(ty, -bound, bound, out=self.by)
        ex, ey = tx.sub_(self.bx, alpha=2.0), ty.sub_(self.by, alpha=2.0)  # d - b = t - 2 b
        rhs = torch.add(below, right).sub_(self.d_minus_b)
        rhs[..., :, 1:] += ex[..., :, :-1]
        rhs[..., 1:, :] += ey[..., :-1, :]
        torch.add(ex, ey, out=self.d_minus_b)
        new = sweep(rhs.mul_(SWEEP_WEIGHT).add_(self.source))
        change = new - u
        u.copy_(new)
        return change


def split_bregman(
    f: torch.Tensor,
    weight: torch.Tensor,
    max_num_iter: int,
    eps: float,
    isotropic: bool,
    b0: torch.Tensor | None = None,
) -> BregmanRun:
    """Run the iteration on ``f`` (B, C, H, W), H and W >= 2, with one weight per image (B,).

    ``weight`` and ``eps`` are taken in ``f``'s dtype, as scikit-image casts
    them; ``b0`` (B, C, H, W) is the starting ``b`` (scikit-image's
    per-channel mode starts a channel from the previous channel's result).
    """
    n, c, h, w = f.shape
    lam = (2 * weight.to(f.dtype)).reshape(n, 1, 1, 1)
    eps = float(torch.tensor(eps, dtype=f.dtype))
    scale = 1.0 / math.sqrt(c * h * w)
    u = f.clone()
    iterations = torch.zeros(n, dtype=torch.int64)
    rmse = torch.full((n, max_num_iter), math.nan, dtype=torch.float64)
    active = torch.arange(n)
    batch = _Batch(f, lam, b0)
    for i in range(1, max_num_iter + 1):
        change = batch.step(isotropic)
        values = torch.linalg.vector_norm(change.flatten(1), dim=1, dtype=torch.float64).mul_(scale).cpu()
        rmse[active, i - 1] = values
        going = values > eps if i < max_num_iter else torch.zeros_like(values, dtype=torch.bool)
        if bool(going.all()):
            continue
        done = active[~going]
        u[done.to(u.device)] = batch.u[~going.to(u.device)]
        iterations[done] = i
        active = active[going]
        if not len(active):
            break
        batch.keep(going.nonzero().squeeze(1).to(f.device))
    return BregmanRun(u, iterations, rmse)
