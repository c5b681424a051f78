"""The split-Bregman iteration as scikit-image runs it, compiled, with the images of a batch as SIMD lanes.

This is the CPU kernel behind :func:`port.ops.tv._split_bregman.split_bregman`.
Each image gets, pixel by pixel and in scikit-image's order (rows, then
columns, then channels), the update written out in
:mod:`port.ops.tv._split_bregman`: at ``(r, c, k)`` of the framed iterate ``u``
(ghost cells by :func:`port.ops.tv._frame.frame`), with lambda = 2 weight,

    u_x = u[r, c+1] - u[r, c],  u_y = u[r+1, c] - u[r, c]     (previous values)
    u[r, c] <- (lambda (u[r+1, c] + u[r-1, c] + u[r, c+1] + u[r, c-1]
                        + dx[r, c-1] - dx[r, c] + dy[r-1, c] - dy[r, c]
                        - bx[r, c-1] + bx[r, c] - by[r-1, c] + by[r, c])
                + weight f[r, c]) / (weight + 4 lambda)
    t = (u_x + bx[r, c], u_y + by[r, c])
    isotropic:   (dx, dy)[r, c] <- s lambda t / (s lambda + 1),  s = |t|
    anisotropic: (dx, dy)[r, c] <- t shrunk towards 0 by 1/lambda, each component
    (bx, by)[r, c] <- (bx, by)[r, c] + ((u_x, u_y) - (dx, dy)[r, c])

with every operation in the image's dtype and the association of
``skimage/restoration/_denoise_cy.pyx`` (``_denoise_tv_bregman``).  The
stopping value accumulates ``(u_new - u_prev)^2`` in the image's dtype in
the same (row, column, channel) order and is ``sqrt(sum / (H W C))``, taken
in float64; an image stops after iteration ``i`` unless ``i < max_num_iter``
and it exceeds ``eps``.

Layout.  The sweep is sequential within an image but the images are
independent, so they are swept together: a group of ``n`` images of ``C``
channels is stored pixel-major as (H+2, W+2, lanes), lane ``k n + b``
holding channel ``k`` of image ``b`` (padded with idle lanes to whole
vectors of :data:`port.ops._lanes.LANES`).  At each pixel the update runs on
whole lane vectors (:mod:`port.ops._lanes`), each lane with its own weight.
A row's squared changes are kept and, after the row, added to each image's
sum pixel by pixel, channel by channel (lane ``k n + b`` to sum ``b``), a
lane vector of images at a time.

Why float64 results equal scikit-image's bit for bit.  Every lane vector
operation is the IEEE operation on each lane (no fast-math flags, hence no
fused multiply-add and no reassociation; see :mod:`port.ops._lanes`), the
expressions are written with scikit-image's association, and each lane
reads exactly the values scikit-image's scalar loop reads at that point:
channels and images never interact, and within a lane the pixels are
visited in scikit-image's order.  Each image's stopping sum is its own
accumulator, added to in scikit-image's order.  So lane ``k n + b`` performs
image ``b``'s channel-``k`` operations in scikit-image's order, whatever
the batch, the grouping, the machine's vector width or the other lanes'
weights.  An image that has stopped keeps its lanes masked: they are still
computed but nothing is written back, so its result and its count are
those of a call on it alone.

Threads.  A batch is split into ``torch.get_num_threads()`` groups of
consecutive images (the sweep has no parallelism within an image,
:func:`port.ops._threads.over_batch`); each group runs to its last image's
stop on its own thread, without the GIL.  The threads are kept between
calls, and each keeps its scratch arrays for its next call of the same size.
"""

from __future__ import annotations

import math
import threading

import numba
import numpy as np
import torch

from port.ops._lanes import LANES, load, select, splat, sqrt, store
from port.ops._threads import over_batch
from port.ops.tv._frame import frame

_held = threading.local()


@numba.njit(cache=True, nogil=True)
def _iterate(
    f, u, dx, dy, bx, by, weight, lam, norm, bound, on, one, shape, eps, max_num_iter, isotropic, iterations, rmse
):
    """Run a group of ``n`` images to their stops; fills ``iterations`` (n,) and ``rmse`` (n, max_num_iter).

    ``shape`` is (H, W, C, n, lanes); ``f`` (H, W, lanes) and ``u``, ``dx``,
    ``dy``, ``bx``, ``by`` (H+2, W+2, lanes) are flat; ``weight``, ``lam``,
    ``norm``, ``bound`` (1/lambda) and ``on`` (1 for a running lane, 0 for an
    idle one) hold one value per lane, in the image's dtype.
    """
    rows, cols, dims, n, width = shape[0], shape[1], shape[2], shape[3], shape[4]
    row = (cols + 2) * width
    zero, unit = splat(one - one), splat(one)
    sums = (n + LANES - 1) // LANES * LANES
    acc = np.zeros(sums, dtype=f.dtype)
    squares = np.zeros(cols * width + (dims - 1) * n + sums, dtype=f.dtype)
    running, total = n, rows * cols * dims
    i = 0
    while running > 0 and i < max_num_iter:
        acc[:] = 0
        for r in range(1, rows + 1):
            for c in range(1, cols + 1):
                p = r * row + c * width
                q = ((r - 1) * cols + c - 1) * width
                for o in range(0, width, LANES):
                    here, north, south, west, east = p + o, p + o - row, p + o + row, p + o - width, p + o + width
                    lam_, live = load(lam, o), load(on, o) > zero
                    uprev, u_s, u_e = load(u, here), load(u, south), load(u, east)
                    dxc, dyc, bxc, byc = load(dx, here), load(dy, here), load(bx, here), load(by, here)
                    ux = u_e - uprev
                    uy = u_s - uprev
                    unew = (
                        lam_
                        * (
                            u_s
                            + load(u, north)
                            + u_e
                            + load(u, west)
                            + load(dx, west)
                            - dxc
                            + load(dy, north)
                            - dyc
                            - load(bx, west)
                            + bxc
                            - load(by, north)
                            + byc
                        )
                        + load(weight, o) * load(f, q + o)
                    ) / load(norm, o)
                    change = unew - uprev
                    store(squares, q - (r - 1) * cols * width + o, change * change)
                    tx = ux + bxc
                    ty = uy + byc
                    if isotropic:
                        s = sqrt(tx * tx + ty * ty)
                        dxx = s * lam_ * tx / (s * lam_ + unit)
                        dyy = s * lam_ * ty / (s * lam_ + unit)
                    else:
                        cut = load(bound, o)
                        dxx = select(tx > cut, tx - cut, select(tx < -cut, tx + cut, zero))
                        dyy = select(ty > cut, ty - cut, select(ty < -cut, ty + cut, zero))
                    store(u, here, select(live, unew, uprev))
                    store(dx, here, select(live, dxx, dxc))
                    store(dy, here, select(live, dyy, dyc))
                    store(bx, here, select(live, bxc + (ux - dxx), bxc))
                    store(by, here, select(live, byc + (uy - dyy), byc))
            for a in range(0, sums, LANES):
                running_sum = load(acc, a)
                for c in range(cols):
                    for k in range(dims):
                        running_sum = running_sum + load(squares, c * width + k * n + a)
                store(acc, a, running_sum)
        i += 1
        for b in range(n):
            if on[b] == 0:  # lane b is channel 0 of image b
                continue
            value = math.sqrt(acc[b] / total)
            rmse[b, i - 1] = value
            iterations[b] = i
            if not (i < max_num_iter and value > eps):
                running -= 1
                for k in range(dims):
                    on[k * n + b] = 0


@numba.njit(cache=True, nogil=True)
def _transfer(planes, lanes, width, pad, into_lanes):
    """Copy between (n, C, H, W) ``planes`` and the interior of flat ``lanes`` (H + 2 pad, W + 2 pad, width),
    channel k of image b in lane k n + b: into the lanes (idle lanes set to 0) or out of them."""
    n, dims, rows, cols = planes.shape
    for r in range(rows):
        for c in range(cols):
            p = ((r + pad) * (cols + 2 * pad) + c + pad) * width
            for k in range(dims):
                for b in range(n):
                    if into_lanes:
                        lanes[p + k * n + b] = planes[b, k, r, c]
                    else:
                        planes[b, k, r, c] = lanes[p + k * n + b]
            if into_lanes:
                lanes[p + dims * n : p + width] = 0


def _workspace(count: int, size: int, dtype: np.dtype) -> np.ndarray:
    """This thread's (count, size) scratch arrays, kept for its next call of the same size: fresh pages
    for every call cost as much as a sweep or two (the first write to each page faults)."""
    held = getattr(_held, "arrays", None)
    if held is None or held.shape != (count, size) or held.dtype != dtype:
        held = _held.arrays = np.empty((count, size), dtype)
    return held


def _planes_view(lanes: np.ndarray, rows: int, cols: int, width: int) -> torch.Tensor:
    """Flat (rows, cols, width) lanes as a (width, rows, cols) tensor view."""
    return torch.from_numpy(lanes[: rows * cols * width]).view(rows, cols, width).permute(2, 0, 1)


def _per_lane(values: np.ndarray, dims: int, width: int) -> np.ndarray:
    """One value per image (n,) -> one per lane (width,), idle lanes 1."""
    out = np.ones(width, dtype=values.dtype)
    out[: dims * len(values)] = np.tile(values, dims)
    return out


def _run_group(
    f: torch.Tensor,
    weight: np.ndarray,
    max_num_iter: int,
    eps: float,
    isotropic: bool,
    b0: torch.Tensor | None,
    u: torch.Tensor,
    iterations: np.ndarray,
    rmse: np.ndarray,
) -> None:
    """Run images ``f`` (n, C, H, W) as one group of lanes; writes ``u`` (n, C, H, W), ``iterations``, ``rmse``."""
    n, dims, rows, cols = f.shape
    width = -(-dims * n // LANES) * LANES
    dtype = weight.dtype.type
    lam = dtype(2) * weight
    norm = weight + dtype(4) * lam
    image, framed, dx, dy, bx, by = _workspace(6, (rows + 2) * (cols + 2) * width, weight.dtype)
    _transfer(f.numpy(), image, width, 0, True)
    frame(_planes_view(image, rows, cols, width), out=_planes_view(framed, rows + 2, cols + 2, width))
    dx.fill(0)
    if b0 is not None:
        _transfer(b0.numpy(), dx, width, 1, True)
    dy[:], bx[:], by[:] = dx, dx, dx
    on = np.zeros(width, dtype=weight.dtype)
    on[: dims * n] = 1
    _iterate(
        image,
        framed,
        dx,
        dy,
        bx,
        by,
        _per_lane(weight, dims, width),
        _per_lane(lam, dims, width),
        _per_lane(norm, dims, width),
        _per_lane(dtype(1) / lam, dims, width),
        on,
        dtype(1),
        np.array([rows, cols, dims, n, width], dtype=np.int64),
        eps,
        max_num_iter,
        isotropic,
        iterations,
        rmse,
    )
    _transfer(u.numpy(), framed, width, 1, False)


def split_bregman_sequential(
    f: torch.Tensor,
    weight: torch.Tensor,
    max_num_iter: int,
    eps: float,
    isotropic: bool,
    b0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The iteration on CPU planes ``f`` (B, C, H, W), one weight per image; returns (u, iterations, rmse).

    ``f`` may be any view; ``u`` is a (B, C, H, W) view of a channels-last (B, H, W, C) tensor, the
    images' own layout.

    ``b0`` (B, C, H, W) starts b and d (scikit-image's per-channel carry-over).
    """
    n, dims, rows, cols = f.shape
    u = f.new_empty((n, rows, cols, dims)).permute(0, 3, 1, 2)
    iterations = np.zeros(n, dtype=np.int64)
    rmse = np.full((n, max_num_iter), math.nan)
    weights = weight.numpy()

    def run(part: slice) -> None:
        _run_group(
            f[part],
            weights[part],
            max_num_iter,
            eps,
            isotropic,
            None if b0 is None else b0[part],
            u[part],
            iterations[part],
            rmse[part],
        )

    over_batch(run, n)
    return u, torch.from_numpy(iterations), torch.from_numpy(rmse)
