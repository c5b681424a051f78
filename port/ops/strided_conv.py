"""A strided 2-D convolution whose input gradient is one stride-1 convolution (polyphase form).

Forward, as Caffe's ``ConvolutionLayer`` and ``F.conv2d`` (a cross-correlation),
with stride ``(s_h, s_w)``, padding ``(P_h, P_w)`` and ``G`` groups::

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x[n, c, s_h i + p - P_h, s_w j + q - P_w]

The gradient with respect to ``x`` of ``sum(y * gy)`` is::

    gx[n, c, u, v] = sum_{o, i, j, p, q : s_h i + p - P_h = u, s_w j + q - P_w = v} w[o, c, p, q] gy[n, o, i, j]

Write ``u + P_h = s_h a + r`` with ``0 <= r < s_h``.  Then ``p = s_h (a - i) + r``,
and with ``m = a - i``::

    gx[n, c, s_h a + r - P_h, .] = sum_{o, m, .} w[o, c, s_h m + r, .] gy[n, o, a - m, .]

so each phase ``(r_h, r_w)`` of ``gx`` is a *stride-1* full convolution of
``gy`` with the phase's sub-kernel ``w[:, :, r_h::s_h, r_w::s_w]``
(``M = ceil(K / s)`` taps, zero-filled where ``s m + r >= K``).  All
``s_h s_w`` phases are a single ``F.conv2d`` of ``gy`` (padding ``M - 1``)
with the sub-kernels flipped and stacked as ``s_h s_w C`` output channels;
interleaving the phases (a pixel shuffle) and cutting ``[P, P + H)`` gives
``gx``.  Rows past the last window's reach get zero.

Why: the CPU backward-data kernel of a strided convolution with few input
channels is slow (CaffeNet's conv1, 3 channels, 11x11, stride 4: 55 ms for
ten 227x227 images on two cores, against 10 ms for its forward); in this
form it costs about what the forward costs.  The sums are the same, taken in
another order, so float32 results differ in the last bits from PyTorch's
default backward and from Caffe's ``col2im`` (both are one rounding order
among others; against float64 this form was measured at 2.3e-6 absolute on
conv1, the default backward at 1.0e-5).  The forward is ``F.conv2d`` itself,
bit for bit.  The weight and bias gradients, when asked for, are PyTorch's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx

Pair = tuple[int, int]


def strided_conv2d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: Pair, pad: Pair, groups: int
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, stride, pad, groups=groups)`` (dilation 1), with the polyphase input gradient."""
    return _PolyphaseConv2d.apply(x, weight, bias, stride, pad, groups)


def polyphase_input_grad(
    gy: torch.Tensor, weight: torch.Tensor, stride: Pair, pad: Pair, groups: int, size: Pair
) -> torch.Tensor:
    """The input gradient ``gx`` (shape ``(N, C, *size)``) of a strided convolution, by the formula above."""
    (s_h, s_w), (p_h, p_w), (h, w) = stride, pad, size
    kernel, taps = _phase_kernel(weight, stride, groups)
    g = F.conv2d(gy, kernel, padding=(taps[0] - 1, taps[1] - 1), groups=groups)
    n, _, a, b = g.shape
    channels = weight.shape[1] * groups
    g = g.view(n, channels, s_h, s_w, a, b).permute(0, 1, 4, 2, 5, 3).reshape(n, channels, a * s_h, b * s_w)
    g = F.pad(g, (0, max(0, p_w + w - b * s_w), 0, max(0, p_h + h - a * s_h)))
    return g[:, :, p_h : p_h + h, p_w : p_w + w]


def _phase_kernel(weight: torch.Tensor, stride: Pair, groups: int) -> tuple[torch.Tensor, Pair]:
    """The flipped sub-kernels of every phase, shaped ``(C s_h s_w, O / G, M_h, M_w)``, and ``(M_h, M_w)``.

    Output channel ``c s_h s_w + r_h s_w + r_w`` holds ``w[o, c, s_h (M_h - 1 - m) + r_h, ...]``
    at tap ``m``; groups stay contiguous, as ``F.conv2d(groups=G)`` expects.
    """
    (s_h, s_w), (out, per_group, k_h, k_w) = stride, weight.shape
    m_h, m_w = -(-k_h // s_h), -(-k_w // s_w)
    filled = weight.new_zeros(out, per_group, m_h * s_h, m_w * s_w)
    filled[:, :, :k_h, :k_w] = weight
    phases = filled.view(groups, out // groups, per_group, m_h, s_h, m_w, s_w).flip(3, 5)
    kernel = phases.permute(0, 2, 4, 6, 1, 3, 5).reshape(groups * per_group * s_h * s_w, out // groups, m_h, m_w)
    return kernel.contiguous(), (m_h, m_w)


class _PolyphaseConv2d(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        stride: Pair,
        pad: Pair,
        groups: int,
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.geometry = (stride, pad, groups, bias is not None)
        return F.conv2d(x, weight, bias, stride, pad, 1, groups)

    @staticmethod
    def backward(ctx: FunctionCtx, gy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        stride, pad, groups, has_bias = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = polyphase_input_grad(gy, weight, stride, pad, groups, tuple(x.shape[2:])) if need_x else None
        gw = torch.nn.grad.conv2d_weight(x, weight.shape, gy, stride, pad, 1, groups) if need_w else None
        gb = gy.sum((0, 2, 3)) if has_bias and need_b else None
        return gx, gw, gb, None, None, None
