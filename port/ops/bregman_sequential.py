"""The split-Bregman iteration as scikit-image runs it: one in-place row-major sweep per iteration, compiled.

This is the CPU kernel behind :func:`port.ops.split_bregman.split_bregman`.
It performs, pixel by pixel and in scikit-image's order (rows, then
columns, then channels innermost), the update written out in
:mod:`port.ops.split_bregman`: at ``(r, c, k)`` of the framed iterate ``u``
(ghost cells by :func:`port.ops.bregman_frame.frame`), with lambda = 2 weight,

    u_x = u[r, c+1] - u[r, c],  u_y = u[r+1, c] - u[r, c]     (previous values)
    u[r, c] <- (lambda (u[r+1, c] + u[r-1, c] + u[r, c+1] + u[r, c-1]
                        + dx[r, c-1] - dx[r, c] + dy[r-1, c] - dy[r, c]
                        - bx[r, c-1] + bx[r, c] - by[r-1, c] + by[r, c])
                + weight f[r, c]) / (weight + 4 lambda)
    t = (u_x + bx[r, c], u_y + by[r, c])
    isotropic:   (dx, dy)[r, c] <- s lambda t / (s lambda + 1),  s = |t|
    anisotropic: (dx, dy)[r, c] <- t shrunk towards 0 by 1/lambda, each component
    (bx, by)[r, c] <- (bx, by)[r, c] + (u_x, u_y) - (dx, dy)[r, c]

with every operation in the image's dtype and the same association as
``skimage/restoration/_denoise_cy.pyx``, so float64 results of a joint
(channels together) call agree with scikit-image to the last bit.  The stopping value accumulates the squared
changes in the image's dtype in the same order and is ``sqrt(sum / (H W C))``,
taken in float64.

A sequential Gauss-Seidel sweep has no data-parallel form that keeps its
iterates (see :mod:`port.ops.gauss_seidel`), so on a CPU it is fastest as
a plain compiled loop: numba compiles it on first use (cached on disk) and
it runs without the GIL, so the images of a batch run on
``torch.get_num_threads()`` threads.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import torch

from port.ops.bregman_frame import frame


@numba.njit(cache=True, nogil=True)
def _iterate(f, framed, start, constants, eps, max_num_iter, isotropic, rmse_out):
    """Run one (H, W, C) image in ``framed`` (H+2, W+2, C) from ``start``; returns the iterations run.

    ``constants`` holds weight, lambda, weight + 4 lambda and 1 in the image's dtype.
    """
    rows, cols, dims = f.shape
    weight, lam, norm, one = constants[0], constants[1], constants[2], constants[3]
    bound = one / lam
    zero = one - one
    dx, dy, bx, by = start.copy(), start.copy(), start.copy(), start.copy()
    total = rows * cols * dims
    rmse = math.inf
    i = 0
    while i < max_num_iter and rmse > eps:
        acc = zero
        for r in range(1, rows + 1):
            for c in range(1, cols + 1):
                for k in range(dims):
                    uprev = framed[r, c, k]
                    ux = framed[r, c + 1, k] - uprev
                    uy = framed[r + 1, c, k] - uprev
                    unew = (
                        lam
                        * (
                            framed[r + 1, c, k]
                            + framed[r - 1, c, k]
                            + framed[r, c + 1, k]
                            + framed[r, c - 1, k]
                            + dx[r, c - 1, k]
                            - dx[r, c, k]
                            + dy[r - 1, c, k]
                            - dy[r, c, k]
                            - bx[r, c - 1, k]
                            + bx[r, c, k]
                            - by[r - 1, c, k]
                            + by[r, c, k]
                        )
                        + weight * f[r - 1, c - 1, k]
                    ) / norm
                    framed[r, c, k] = unew
                    change = unew - uprev
                    acc += change * change
                    tx = ux + bx[r, c, k]
                    ty = uy + by[r, c, k]
                    if isotropic:
                        s = math.sqrt(tx * tx + ty * ty)
                        dxx = s * lam * tx / (s * lam + one)
                        dyy = s * lam * ty / (s * lam + one)
                    else:
                        dxx = tx - bound if tx > bound else (tx + bound if tx < -bound else zero)
                        dyy = ty - bound if ty > bound else (ty + bound if ty < -bound else zero)
                    dx[r, c, k] = dxx
                    dy[r, c, k] = dyy
                    bx[r, c, k] += ux - dxx
                    by[r, c, k] += uy - dyy
        rmse = math.sqrt(acc / total)
        rmse_out[i] = rmse
        i += 1
    return i


def split_bregman_sequential(
    f: torch.Tensor,
    weight: torch.Tensor,
    max_num_iter: int,
    eps: float,
    isotropic: bool,
    b0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The iteration on CPU planes ``f`` (B, C, H, W), one weight per image; returns (u, iterations, rmse).

    ``b0`` (B, C, H, W) starts b and d (scikit-image's per-channel carry-over).
    """
    images = f.permute(0, 2, 3, 1).contiguous().numpy()
    dtype = images.dtype.type
    starts = b0.permute(0, 2, 3, 1).contiguous().numpy() if b0 is not None else None
    n = images.shape[0]
    framed = frame(f).permute(0, 2, 3, 1).contiguous().numpy()
    iterations = np.zeros(n, dtype=np.int64)
    rmse = np.full((n, max_num_iter), math.nan)

    def run(index: int) -> None:
        w = dtype(weight[index].item())
        lam = dtype(2) * w
        constants = np.array([w, lam, w + dtype(4) * lam, 1], dtype=images.dtype)
        start = np.zeros_like(framed[index])
        if starts is not None:
            start[1:-1, 1:-1] = starts[index]
        iterations[index] = _iterate(
            images[index], framed[index], start, constants, eps, max_num_iter, isotropic, rmse[index]
        )

    threads = min(n, torch.get_num_threads())
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, range(n)))
    else:
        for index in range(n):
            run(index)
    u = torch.from_numpy(np.ascontiguousarray(framed[:, 1:-1, 1:-1])).permute(0, 3, 1, 2).contiguous()
    return u, torch.from_numpy(iterations), torch.from_numpy(rmse)
