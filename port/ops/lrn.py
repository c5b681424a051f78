"""Caffe's local response normalisation (``lrn_layer.cpp``, Caffe 1.0).

ACROSS_CHANNELS (the CaffeNet/AlexNet norm layers), for an odd window ``n``:

    y[c] = x[c] * (k + alpha / n * sum_{c' = c - (n-1)/2}^{c + (n-1)/2} x[c']^2) ^ (-beta)

with zero padding beyond the first and last channel.  The window's squares
are added in channel order, ``((x[c-h]^2 + x[c-h+1]^2) + ...) + x[c+h]^2``,
elementwise over the whole tensor (the same bits for any batch size).

WITHIN_CHANNEL, over an ``n x n`` spatial window with zero padding
``(n-1)/2``:

    y[h, w] = x[h, w] * (1 + alpha / n^2 * sum_{window} x^2) ^ (-beta)

Caffe builds this variant from an AVE pooling layer (whose divisor, with this
padding and stride 1, is always ``n^2``) and a power layer with shift fixed to
1, so ``k`` does not enter it.  Caffe rejects even ``n``; so do these
functions.

Gradients come from autograd on the same expression, which is the derivative
Caffe's hand-written backward computes.

The power ``s^(-beta)`` is, for beta = 3/4 (the value of every LRN layer in
the Caffe model zoo), ``1 / (sqrt(s) sqrt(sqrt(s)))``: only correctly
rounded operations, within 3 ulp of the exact power, and (with its autograd
derivative) the same bits whether a SIMD lane or a scalar loop computes it.
torch's vectorised ``pow`` and its scalar tail loop differ in the last bit,
and where the tails fall depends on the batch size, so with ``pow`` an
image's activations would depend on the images beside it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_size(size: int) -> None:
    if size < 1 or size % 2 != 1:
        raise ValueError(f"LRN local_size must be a positive odd number (Caffe's rule), got {size}")


def negative_power(base: torch.Tensor, beta: float) -> torch.Tensor:
    """``base^(-beta)``; batch-invariant for beta = 3/4 (see the module docstring)."""
    if beta == 0.75:
        root = base.sqrt()
        return (root * root.sqrt()).reciprocal()
    return base.pow(-beta)


def lrn_across_channels(x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> torch.Tensor:
    """ACROSS_CHANNELS LRN of an (N, C, H, W) tensor; see the module docstring."""
    _check_size(size)
    half = (size - 1) // 2
    squares = F.pad(x * x, (0, 0, 0, 0, half, half))
    channels = x.shape[1]
    window_sums = squares[:, :channels]
    for offset in range(1, size):
        window_sums = window_sums + squares[:, offset : offset + channels]
    return x * negative_power(k + (alpha / size) * window_sums, beta)


def lrn_within_channel(x: torch.Tensor, size: int, alpha: float, beta: float) -> torch.Tensor:
    """WITHIN_CHANNEL LRN of an (N, C, H, W) tensor; see the module docstring."""
    _check_size(size)
    half = (size - 1) // 2
    window_sums = F.avg_pool2d(x * x, size, stride=1, padding=half, divisor_override=1)
    return x * negative_power(1.0 + (alpha / (size * size)) * window_sums, beta)
