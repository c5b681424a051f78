"""The split-Bregman iteration vectorised over whole images: each sweep solved by FFT; any device.

Per iteration, d and b of every pixel are computed at once from the
previous iterate (they depend on nothing else), and the in-place
Gauss-Seidel u-update becomes one lower-triangular solve, done exactly by
:func:`port.ops.tv._gauss_seidel.sweep` (see :mod:`port.ops.tv._split_bregman` for
the formulas).  Every image of the batch stops on its own and then leaves
the batch.  The stopping value's sum is taken in float64.  This is the
kernel for GPUs, where the sequential loop of
:mod:`port.ops.tv._sequential` has no parallelism to offer.
"""

from __future__ import annotations

import math

import torch

from port.ops.tv._frame import frame
from port.ops.tv._gauss_seidel import SWEEP_WEIGHT, sweep


class _Batch:
    """The state of the images still iterating: framed iterate, b, d - b and the fixed source."""

    def __init__(self, f: torch.Tensor, lam: torch.Tensor, b0: torch.Tensor | None) -> None:
        self.lam = lam
        self.framed = frame(f)
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


def split_bregman_fft(
    f: torch.Tensor,
    weight: torch.Tensor,
    max_num_iter: int,
    eps: float,
    isotropic: bool,
    b0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The iteration on planes ``f`` (B, C, H, W) on any device, one weight per image (in ``f``'s dtype);
    returns (u, iterations, rmse).  ``b0`` (B, C, H, W) starts b and d."""
    n, c, h, w = f.shape
    lam = (2 * weight.to(f.dtype)).reshape(n, 1, 1, 1)
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
    return u, iterations, rmse
