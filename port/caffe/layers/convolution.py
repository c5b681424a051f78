"""The learnable linear layers: Convolution, Deconvolution and InnerProduct."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from port.caffe.layers.base import BuildContext, Built, CaffeLayer, Shape, blob_parameters, hw
from port.ops import strided_conv2d


class ConvGeometry(NamedTuple):
    """Kernel, stride, pad and dilation along (height, width), and the group count."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    group: int


class Convolution(CaffeLayer):
    """Caffe's Convolution: cross-correlation, ``weight`` of shape ``(out, in / group, kh, kw)``.

    Strided ones without dilation take the polyphase input gradient of
    :mod:`port.ops.strided_conv` (the forward is ``F.conv2d`` either way)."""

    def __init__(self, weight: Shape, bias: bool, geom: ConvGeometry):
        super().__init__()
        blob_parameters(self, [weight, (weight[0],)] if bias else [weight])
        self.geom = geom

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        g = self.geom
        bias = self.bias if "bias" in self.blob_names else None
        if g.stride != (1, 1) and g.dilation == (1, 1):
            return [strided_conv2d(bottoms[0], self.weight, bias, g.stride, g.pad, g.group)]
        return [F.conv2d(bottoms[0], self.weight, bias, g.stride, g.pad, g.dilation, g.group)]


class Deconvolution(CaffeLayer):
    """Caffe's Deconvolution: the transpose of Convolution, ``weight`` of shape ``(in, out / group, kh, kw)``.

    Output extent ``stride * (H - 1) + dilation * (k - 1) + 1 - 2 * pad``
    (``deconv_layer.cpp``), which is ``conv_transpose2d`` without output padding.
    """

    def __init__(self, weight: Shape, num_output: int, bias: bool, geom: ConvGeometry):
        super().__init__()
        blob_parameters(self, [weight, (num_output,)] if bias else [weight])
        self.geom = geom

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        g = self.geom
        bias = self.bias if "bias" in self.blob_names else None
        return [F.conv_transpose2d(bottoms[0], self.weight, bias, g.stride, g.pad, 0, g.group, g.dilation)]


class InnerProduct(CaffeLayer):
    """``y = x W^T + b`` over the axes from ``axis`` on (``W`` stored transposed when ``transpose``).

    A BLAS picks its kernel by the number of rows, so a row's result can
    change in the last bits with the rows beside it (see
    :mod:`port.mfv.loop` on batched runs).
    """

    def __init__(self, weight: Shape, bias: bool, axis: int, transpose: bool):
        super().__init__()
        out = weight[1] if transpose else weight[0]
        blob_parameters(self, [weight, (out,)] if bias else [weight])
        self.axis, self.transpose = axis, transpose

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0].flatten(self.axis)
        weight = self.weight.t() if self.transpose else self.weight
        bias = self.bias if "bias" in self.blob_names else None
        return [F.linear(x, weight, bias)]


def _conv_geometry(ctx: BuildContext, channels: int) -> ConvGeometry:
    p = ctx.lp.convolution_param
    if p.axis != 1:
        raise ctx.error(f"convolution_param.axis = {p.axis}; only axis 1 is supported")
    if p.num_output < 1 or p.group < 1 or channels % p.group or p.num_output % p.group:
        raise ctx.error(f"num_output {p.num_output} and {channels} input channels must both divide by group {p.group}")
    return ConvGeometry(
        kernel=hw(ctx, "kernel", p.kernel_size, p.kernel_h, p.kernel_w, None),
        stride=hw(ctx, "stride", p.stride, p.stride_h, p.stride_w, 1),
        pad=hw(ctx, "pad", p.pad, p.pad_h, p.pad_w, 0),
        dilation=hw(ctx, "dilation", p.dilation, 0, 0, 1),
        group=p.group,
    )


def _check_fits(ctx: BuildContext, out: tuple[int, ...], geom: ConvGeometry, h: int, w: int) -> None:
    if min(out) < 1:
        raise ctx.error(f"kernel {geom.kernel} does not fit the {h}x{w} input with pad {geom.pad}")


def build_convolution(ctx: BuildContext) -> Built:
    n, c, h, w = ctx.image_bottom()
    g = _conv_geometry(ctx, c)
    out = tuple(
        (size + 2 * pd - (d * (k - 1) + 1)) // s + 1
        for size, k, s, pd, d in zip((h, w), g.kernel, g.stride, g.pad, g.dilation)
    )
    _check_fits(ctx, out, g, h, w)
    p = ctx.lp.convolution_param
    weight = (p.num_output, c // g.group, *g.kernel)
    return Convolution(weight, p.bias_term, g), [(n, p.num_output, *out)]


def build_deconvolution(ctx: BuildContext) -> Built:
    n, c, h, w = ctx.image_bottom()
    g = _conv_geometry(ctx, c)
    out = tuple(
        s * (size - 1) + d * (k - 1) + 1 - 2 * pd
        for size, k, s, pd, d in zip((h, w), g.kernel, g.stride, g.pad, g.dilation)
    )
    _check_fits(ctx, out, g, h, w)
    p = ctx.lp.convolution_param
    weight = (c, p.num_output // g.group, *g.kernel)
    return Deconvolution(weight, p.num_output, p.bias_term, g), [(n, p.num_output, *out)]


def build_inner_product(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.inner_product_param
    axis = ctx.axis(p.axis, len(shape))
    fan_in = math.prod(shape[axis:])
    if p.num_output < 1:
        raise ctx.error("inner_product_param.num_output must be positive")
    weight = (fan_in, p.num_output) if p.transpose else (p.num_output, fan_in)
    return InnerProduct(weight, p.bias_term, axis, p.transpose), [(*shape[:axis], p.num_output)]
