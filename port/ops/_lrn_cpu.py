"""Caffe's ACROSS_CHANNELS LRN for beta = 3/4 on the CPU: two compiled passes, correctly rounded throughout.

:mod:`port.ops.lrn` writes the layer as tensor expressions; on the CPU they
take some fourteen passes over the blob forward and as many backward, each
one reading and writing the whole (N, C, H, W) tensor.  These kernels do
the same arithmetic image by image and channel by channel, a row of H W
values at a time, so that the blob is read and written once per pass:

* forward, per channel ``c``: ``w = window_sum(x^2)[c]`` (the squares added
  in channel order from ``c - h`` to ``c + h``, a zero added where the
  window leaves the channels), ``scale = k + (alpha / n) w``,
  ``r = sqrt(scale)``, ``power = 1 / (r sqrt(r))``, ``y = x power``;
* backward: ``ratio = dy y / scale``, ``w = window_sum(ratio)[c]``,
  ``dx = dy power - cache (x w)`` with ``cache = 2 alpha beta / n``.

Every operation is the IEEE one in the tensor's dtype, with the association
written: numba emits no fused multiply-add or reassociation without
fast-math flags, and its ``sqrt`` and ``/`` are correctly rounded.  So each
value is a function of its own image alone, the same on every x86-64 CPU,
and equal bit for bit to the same arithmetic written in numpy (the tests
compare them).  torch's vectorised CPU ``sqrt`` is not correctly rounded
(measured here on 10^5 float32 values: 17% differ from the rounded square
root in the last bit; 1.4% in float64), so the tensor form on the CPU would
differ from these kernels in the last bit of the power.  The images are split
over threads (:func:`port.ops._threads.over_batch`).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from port.ops._lanes import LANES, load, splat, sqrt, store
from port.ops._threads import over_batch


@numba.njit(cache=True, nogil=True)
def _window_sum(rows, c, size, zero, out):
    """``out`` <- rows[c - h] + ... + rows[c + h] in that order, h = (size - 1) / 2, a zero row for each
    channel outside ``rows`` (added, as the tensor form adds its zero padding)."""
    channels, pixels = rows.shape
    for offset in range(size):
        j = c - (size - 1) // 2 + offset
        if 0 <= j < channels:
            row = rows[j]
            if offset == 0:
                for p in range(pixels):
                    out[p] = row[p]
            else:
                for p in range(pixels):
                    out[p] = out[p] + row[p]
        elif offset == 0:
            for p in range(pixels):
                out[p] = zero
        else:
            for p in range(pixels):
                out[p] = out[p] + zero


@numba.njit(cache=True, nogil=True, inline="always")
def _power_lanes(s, x, k, scaled_alpha, one, i, pw, y):
    """At ``i .. i + LANES`` of flat arrays: ``s <- k + (alpha / n) s``, ``pw <- 1 / (r sqrt(r))`` with
    ``r = sqrt(s)``, ``y <- x pw`` (explicit vectors: LLVM's loop vectoriser leaves a ``sqrt`` call scalar)."""
    value = k + scaled_alpha * load(s, i)
    root = sqrt(value)
    power = one / (root * sqrt(root))
    store(s, i, value)
    store(pw, i, power)
    store(y, i, load(x, i) * power)


@numba.njit(cache=True, nogil=True)
def _forward(x, size, scaled_alpha, k, one, zero, y, scale, power):
    n, channels, pixels = x.shape
    count = channels * pixels
    full = count - count % LANES
    vk, va, vone = splat(k), splat(scaled_alpha), splat(one)
    tails = np.ones((4, LANES), x.dtype)
    for b in range(n):
        squares = x[b] * x[b]
        for c in range(channels):
            _window_sum(squares, c, size, zero, scale[b, c])
        s, xs, pw, ys = scale[b].reshape(count), x[b].reshape(count), power[b].reshape(count), y[b].reshape(count)
        for i in range(0, full, LANES):
            _power_lanes(s, xs, vk, va, vone, i, pw, ys)
        if full < count:
            rest = count - full
            tails[0, :rest], tails[1, :rest] = s[full:], xs[full:]
            _power_lanes(tails[0], tails[1], vk, va, vone, 0, tails[2], tails[3])
            s[full:], pw[full:], ys[full:] = tails[0, :rest], tails[2, :rest], tails[3, :rest]


@numba.njit(cache=True, nogil=True)
def _backward(grad, x, y, scale, power, size, cache, zero, dx):
    n, channels, pixels = x.shape
    for b in range(n):
        ratio = grad[b] * y[b] / scale[b]
        for c in range(channels):
            acc, g, pw, xc = dx[b, c], grad[b, c], power[b, c], x[b, c]
            _window_sum(ratio, c, size, zero, acc)
            for p in range(pixels):
                acc[p] = g[p] * pw[p] - cache * (xc[p] * acc[p])


def _planes(t: torch.Tensor) -> np.ndarray:
    """An (N, C, H, W) CPU tensor as a contiguous (N, C, H W) array sharing its memory."""
    return t.detach().reshape(t.shape[0], t.shape[1], -1).numpy()


def lrn_forward_cpu(
    x: torch.Tensor, size: int, alpha: float, k: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(y, scale, power) of a contiguous CPU tensor, beta = 3/4."""
    y, scale, power = torch.empty_like(x), torch.empty_like(x), torch.empty_like(x)
    arrays = [_planes(t) for t in (x, y, scale, power)]
    dtype = arrays[0].dtype.type

    def run(part: slice) -> None:
        xs, ys, ss, ps = (a[part] for a in arrays)
        _forward(xs, size, dtype(alpha / size), dtype(k), dtype(1), dtype(0), ys, ss, ps)

    over_batch(run, len(x))
    return y, scale, power


def lrn_backward_cpu(
    grad: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    scale: torch.Tensor,
    power: torch.Tensor,
    size: int,
    cache: float,
) -> torch.Tensor:
    """dx of contiguous CPU tensors; ``cache`` = 2 alpha beta / size."""
    dx = torch.empty_like(x)
    arrays = [_planes(t) for t in (grad, x, y, scale, power, dx)]
    dtype = arrays[0].dtype.type

    def run(part: slice) -> None:
        gs, xs, ys, ss, ps, dxs = (a[part] for a in arrays)
        _backward(gs, xs, ys, ss, ps, size, dtype(cache), dtype(0), dxs)

    over_batch(run, len(x))
    return dx
