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

The ACROSS_CHANNELS gradient is Caffe's hand-written one
(``CrossChannelBackward_cpu``), the derivative of the expression above
written with the forward's ``scale`` and output ``y``:

    dx[c] = dy[c] scale[c]^(-beta)
            - (2 alpha beta / n) x[c] sum_{c' = c - (n-1)/2}^{c + (n-1)/2} dy[c'] y[c'] / scale[c']

(the window sum in channel order, zero padded; Caffe keeps a running sum
instead).  WITHIN_CHANNEL's comes from autograd on its expression.

On the CPU, for beta = 3/4 (the value of every LRN layer in the Caffe model
zoo), both passes run as compiled kernels (:mod:`port.ops._lrn_cpu`) that
read and write the blob once instead of some fourteen times, with correctly
rounded operations only: the power is ``1 / (sqrt(s) sqrt(sqrt(s)))``,
within 3 ulp of the exact power, and each image's values are its own, the
same bits whatever the batch.  Elsewhere (other devices, other betas) the
tensor expressions below compute the same formulas with the device's own
``sqrt`` and ``pow``; torch's vectorised CPU ``sqrt`` and ``pow`` are not
correctly rounded (:mod:`port.ops._lrn_cpu` gives figures), which is why
the CPU does not take that path for beta = 3/4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

from port.ops._lrn_cpu import lrn_backward_cpu, lrn_forward_cpu


def _check_size(size: int) -> None:
    if size < 1 or size % 2 != 1:
        raise ValueError(f"LRN local_size must be a positive odd number (Caffe's rule), got {size}")


def negative_power(base: torch.Tensor, beta: float) -> torch.Tensor:
    """``base^(-beta)``; for beta = 3/4 ``1 / (sqrt(base) sqrt(sqrt(base)))`` (see the module docstring)."""
    if beta == 0.75:
        root = base.sqrt()
        return (root * root.sqrt()).reciprocal()
    return base.pow(-beta)


def _window_sums(values: torch.Tensor, size: int) -> torch.Tensor:
    """``sum_{c' = c - (size-1)/2}^{c + (size-1)/2} values[:, c']`` for every channel, added in channel order
    with zeros beyond the first and last channel."""
    half = (size - 1) // 2
    padded = F.pad(values, (0, 0, 0, 0, half, half))
    channels = values.shape[1]
    sums = padded[:, :channels]
    for offset in range(1, size):
        sums = sums + padded[:, offset : offset + channels]
    return sums


def _compiled(x: torch.Tensor, beta: float) -> bool:
    """Whether the compiled CPU kernels take ``x``: CPU float tensors and beta = 3/4."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and beta == 0.75


class _AcrossChannels(torch.autograd.Function):
    """ACROSS_CHANNELS LRN with Caffe's backward; saves x, y, scale and scale^(-beta)."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> torch.Tensor:
        ctx.compiled = _compiled(x, beta)
        if ctx.compiled:
            x = x.contiguous()
            y, scale, power = lrn_forward_cpu(x, size, alpha, k)
        else:
            scale = k + (alpha / size) * _window_sums(x * x, size)
            power = negative_power(scale, beta)
            y = x * power
        ctx.save_for_backward(x, y, scale, power)
        ctx.size, ctx.cache = size, 2.0 * alpha * beta / size
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None, None]:
        x, y, scale, power = ctx.saved_tensors
        if ctx.compiled:
            dx = lrn_backward_cpu(grad.contiguous(), x, y, scale, power, ctx.size, ctx.cache)
        else:
            dx = grad * power - ctx.cache * (x * _window_sums(grad * y / scale, ctx.size))
        return dx, None, None, None, None


def lrn_across_channels(x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> torch.Tensor:
    """ACROSS_CHANNELS LRN of an (N, C, H, W) tensor; see the module docstring."""
    _check_size(size)
    return _AcrossChannels.apply(x, size, alpha, beta, k)


def lrn_within_channel(x: torch.Tensor, size: int, alpha: float, beta: float) -> torch.Tensor:
    """WITHIN_CHANNEL LRN of an (N, C, H, W) tensor; see the module docstring."""
    _check_size(size)
    half = (size - 1) // 2
    window_sums = F.avg_pool2d(x * x, size, stride=1, padding=half, divisor_override=1)
    return x * negative_power(1.0 + (alpha / (size * size)) * window_sums, beta)
