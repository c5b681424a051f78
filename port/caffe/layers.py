"""PyTorch modules for Caffe layer types, each built from its ``LayerParameter``.

Every builder takes the layer's protobuf message and the shapes of its bottom
blobs, checks them the way Caffe's ``LayerSetUp``/``Reshape`` would, and
returns the module and the shapes of its top blobs.  Modules map a list of
bottom tensors to a list of top tensors.  Learnable blobs are parameters
named ``weight`` and ``bias`` in Caffe's blob order (``CaffeLayer.blob_names``).

Test-phase semantics throughout: Dropout is the identity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from port.caffe.errors import CaffeFormatError
from port.caffe.limits import check_blob_size
from port.ops import (
    PoolGeometry,
    ave_pool,
    gather_pool,
    lrn_across_channels,
    lrn_within_channel,
    max_pool,
    pooled_shape,
    strided_conv2d,
)

Shape = tuple[int, ...]

POOL_MAX, POOL_AVE = 0, 1
LRN_ACROSS_CHANNELS, LRN_WITHIN_CHANNEL = 0, 1
ELTWISE_PROD, ELTWISE_SUM, ELTWISE_MAX = 0, 1, 2
POSITIVE_SPATIAL_FIELDS = ("kernel", "kernel_size", "stride", "dilation")


class CaffeLayer(nn.Module):
    """A Caffe layer: ``forward(bottoms) -> tops``."""

    blob_names: tuple[str, ...] = ()

    def caffe_blobs(self) -> list[torch.Tensor]:
        """The learnable blobs in Caffe's order (weights, then bias)."""
        return [getattr(self, name) for name in self.blob_names]


def _blob_parameters(layer: CaffeLayer, shapes: Sequence[Shape]) -> None:
    names = ("weight", "bias")[: len(shapes)]
    for name, shape in zip(names, shapes):
        check_blob_size(shape, f"its {name} blob")
        layer.register_parameter(name, nn.Parameter(torch.zeros(shape)))
    layer.blob_names = names


class Convolution(CaffeLayer):
    """Caffe's convolution; strided ones without dilation take the polyphase input gradient
    of :mod:`port.ops.strided_conv` (the forward is ``F.conv2d`` either way)."""

    def __init__(
        self,
        weight: Shape,
        bias: bool,
        stride: tuple[int, int],
        pad: tuple[int, int],
        dilation: tuple[int, int],
        group: int,
    ):
        super().__init__()
        _blob_parameters(self, [weight, (weight[0],)] if bias else [weight])
        self.stride, self.pad, self.dilation, self.group = stride, pad, dilation, group

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        bias = self.bias if "bias" in self.blob_names else None
        if self.stride != (1, 1) and self.dilation == (1, 1):
            return [strided_conv2d(bottoms[0], self.weight, bias, self.stride, self.pad, self.group)]
        return [F.conv2d(bottoms[0], self.weight, bias, self.stride, self.pad, self.dilation, self.group)]


class InnerProduct(CaffeLayer):
    """``y = x W^T + b`` over the axes from ``axis`` on (``W`` stored transposed when ``transpose``).

    A BLAS picks its kernel by the number of rows, so a row's result can
    change in the last bits with the rows beside it (see
    :mod:`port.mfv.loop` on batched runs).
    """

    def __init__(self, weight: Shape, bias: bool, axis: int, transpose: bool):
        super().__init__()
        out = weight[1] if transpose else weight[0]
        _blob_parameters(self, [weight, (out,)] if bias else [weight])
        self.axis, self.transpose = axis, transpose

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0].flatten(self.axis)
        weight = self.weight.t() if self.transpose else self.weight
        bias = self.bias if "bias" in self.blob_names else None
        return [F.linear(x, weight, bias)]


class Pooling(CaffeLayer):
    """MAX or AVE pooling with Caffe's geometry (``port.ops.pooling``)."""

    def __init__(self, method: int, geom: PoolGeometry, mask_top: bool):
        super().__init__()
        self.method, self.geom, self.mask_top = method, geom, mask_top

    def pool(self, x: torch.Tensor, argmax: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pooled values and, for MAX, the argmax (Caffe mask indices).

        A given ``argmax`` (MAX only) replaces this layer's own choice of
        maximum, e.g. to follow Caffe through a near-tie.
        """
        if self.method == POOL_AVE:
            return ave_pool(x, self.geom), None
        if argmax is not None:
            return gather_pool(x, argmax), argmax
        return max_pool(x, self.geom)

    def tops(self, values: torch.Tensor, argmax: torch.Tensor | None) -> list[torch.Tensor]:
        """The top blobs: the pooled values and, with a second top, Caffe's float mask."""
        return [values, argmax.to(values.dtype)] if self.mask_top else [values]

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return self.tops(*self.pool(bottoms[0]))


class LRN(CaffeLayer):
    def __init__(self, region: int, size: int, alpha: float, beta: float, k: float):
        super().__init__()
        self.region, self.size, self.alpha, self.beta, self.k = region, size, alpha, beta, k

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.region == LRN_ACROSS_CHANNELS:
            return [lrn_across_channels(bottoms[0], self.size, self.alpha, self.beta, self.k)]
        return [lrn_within_channel(bottoms[0], self.size, self.alpha, self.beta)]


class ReLU(CaffeLayer):
    """``max(x, 0) + slope * min(x, 0)``; the gradient at 0 is ``slope``, as Caffe's ``x > 0`` test gives."""

    def __init__(self, negative_slope: float):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.negative_slope == 0.0:
            return [F.relu(bottoms[0])]
        return [F.leaky_relu(bottoms[0], self.negative_slope)]

    def forced(self, x: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """The ReLU with a given on/off pattern (e.g. another implementation's, across a sign near-tie)."""
        return torch.where(active, x, x * self.negative_slope)


class Split(CaffeLayer):
    """Copies of the bottom; Dropout at test time is a Split with one top.

    Each top is its own autograd node (a view), so each top blob gets its own
    diff, as in Caffe, and the bottom's diff is their sum.
    """

    def __init__(self, n_tops: int):
        super().__init__()
        self.n_tops = n_tops

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [bottoms[0].view_as(bottoms[0]) for _ in range(self.n_tops)]


class Softmax(CaffeLayer):
    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [torch.softmax(bottoms[0], dim=self.axis)]


class Concat(CaffeLayer):
    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [torch.cat(bottoms, dim=self.axis)]


class Eltwise(CaffeLayer):
    """PROD, SUM (with coefficients) or MAX of the bottoms.

    MAX sends the whole gradient to one bottom per element, as Caffe's mask
    does; on an exact tie the choice may differ from Caffe's first-bottom rule.
    """

    def __init__(self, operation: int, coeffs: tuple[float, ...]):
        super().__init__()
        self.operation, self.coeffs = operation, coeffs

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.operation == ELTWISE_SUM:
            return [sum(c * b for c, b in zip(self.coeffs, bottoms))]
        if self.operation == ELTWISE_PROD:
            return [math.prod(bottoms[1:], start=bottoms[0])]
        return [torch.stack(bottoms).max(dim=0).values]


class Flatten(CaffeLayer):
    def __init__(self, axis: int, end_axis: int):
        super().__init__()
        self.axis, self.end_axis = axis, end_axis

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [bottoms[0].flatten(self.axis, self.end_axis)]


# ---------------------------------------------------------------------------
# Builders: (layer message, bottom shapes, where) -> (module, top shapes)

Built = tuple[CaffeLayer, list[Shape]]


class _Context:
    """The layer being built, for error messages that name file and layer."""

    def __init__(self, lp: Any, bottom_shapes: list[Shape], source: str):
        self.lp, self.bottom_shapes, self.source = lp, bottom_shapes, source

    def error(self, message: str) -> CaffeFormatError:
        return CaffeFormatError(f"{self.source}: layer '{self.lp.name}' ({self.lp.type}): {message}")

    def bottoms(self, count: int | None = None) -> list[Shape]:
        n = len(self.bottom_shapes)
        if (count is None and n == 0) or (count is not None and n != count):
            expected = "at least one" if count is None else str(count)
            raise self.error(f"expects {expected} bottom blob(s), has {n}")
        return self.bottom_shapes

    def image_bottom(self) -> Shape:
        (shape,) = self.bottoms(1)
        if len(shape) != 4:
            raise self.error(f"expects a 4-D (N, C, H, W) bottom, got shape {shape}")
        return shape

    def axis(self, axis: int, ndim: int) -> int:
        if not -ndim <= axis < ndim:
            raise self.error(f"axis {axis} is out of range for a {ndim}-D bottom")
        return axis % ndim

    def n_tops(self, count: int) -> None:
        if len(self.lp.top) != count:
            raise self.error(f"expects {count} top blob(s), has {len(self.lp.top)}")


def _hw(ctx: _Context, field: str, repeated: Sequence[int], h: int, w: int, default: int | None) -> tuple[int, int]:
    """Caffe's spatial parameter rule: ``<field>_h``/``<field>_w`` or 1-2 values of ``<field>``.

    As in Caffe, a kernel, stride or dilation must be positive.
    """
    pair = _hw_pair(ctx, field, repeated, h, w, default)
    if field in POSITIVE_SPATIAL_FIELDS and min(pair) < 1:
        raise ctx.error(f"{field} {pair} must be positive")
    return pair


def _hw_pair(
    ctx: _Context, field: str, repeated: Sequence[int], h: int, w: int, default: int | None
) -> tuple[int, int]:
    if h or w:
        if len(repeated):
            raise ctx.error(f"set either {field} or {field}_h/{field}_w, not both")
        return h, w
    values = list(repeated)
    if not values:
        if default is None:
            raise ctx.error(f"{field} is required")
        return default, default
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise ctx.error(f"{field} has {len(values)} values; only 2-D layers are supported")


def _conv_out(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - (dilation * (kernel - 1) + 1)) // stride + 1


def build_convolution(ctx: _Context) -> Built:
    n, c, h, w = ctx.image_bottom()
    p = ctx.lp.convolution_param
    if p.axis != 1:
        raise ctx.error(f"convolution_param.axis = {p.axis}; only axis 1 is supported")
    kernel = _hw(ctx, "kernel", p.kernel_size, p.kernel_h, p.kernel_w, None)
    stride = _hw(ctx, "stride", p.stride, p.stride_h, p.stride_w, 1)
    pad = _hw(ctx, "pad", p.pad, p.pad_h, p.pad_w, 0)
    dilation = _hw(ctx, "dilation", p.dilation, 0, 0, 1)
    if p.num_output < 1 or p.group < 1 or c % p.group or p.num_output % p.group:
        raise ctx.error(f"num_output {p.num_output} and {c} input channels must both divide by group {p.group}")
    out = tuple(_conv_out(*args) for args in zip((h, w), kernel, stride, pad, dilation))
    if min(out) < 1:
        raise ctx.error(f"kernel {kernel} does not fit the {h}x{w} input with pad {pad}")
    weight = (p.num_output, c // p.group, *kernel)
    return Convolution(weight, p.bias_term, stride, pad, dilation, p.group), [(n, p.num_output, *out)]


def build_inner_product(ctx: _Context) -> Built:
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.inner_product_param
    axis = ctx.axis(p.axis, len(shape))
    fan_in = math.prod(shape[axis:])
    if p.num_output < 1:
        raise ctx.error("inner_product_param.num_output must be positive")
    weight = (fan_in, p.num_output) if p.transpose else (p.num_output, fan_in)
    return InnerProduct(weight, p.bias_term, axis, p.transpose), [(*shape[:axis], p.num_output)]


def build_pooling(ctx: _Context) -> Built:
    n, c, h, w = ctx.image_bottom()
    p = ctx.lp.pooling_param
    if p.pool not in (POOL_MAX, POOL_AVE):
        raise ctx.error("only MAX and AVE pooling are supported")
    if p.global_pooling:
        if p.kernel_size or p.kernel_h or p.kernel_w:
            raise ctx.error("global_pooling takes no kernel size")
        geom = PoolGeometry((h, w), (1, 1), (0, 0))
    else:
        geom = PoolGeometry(
            kernel=_hw(ctx, "kernel_size", [p.kernel_size] if p.kernel_size else [], p.kernel_h, p.kernel_w, None),
            stride=_hw(ctx, "stride", [p.stride], p.stride_h, p.stride_w, 1),
            pad=_hw(ctx, "pad", [p.pad], p.pad_h, p.pad_w, 0),
            ceil=p.round_mode == 0,
        )
    if any(pd >= k for pd, k in zip(geom.pad, geom.kernel)):
        raise ctx.error(f"pad {geom.pad} must be smaller than kernel {geom.kernel}")
    max_tops = 2 if p.pool == POOL_MAX else 1
    if not 1 <= len(ctx.lp.top) <= max_tops:
        raise ctx.error(f"expects 1 to {max_tops} top blobs, has {len(ctx.lp.top)}")
    try:
        out = (n, c, *pooled_shape(h, w, geom))
    except ValueError as exc:
        raise ctx.error(str(exc)) from None
    return Pooling(p.pool, geom, len(ctx.lp.top) == 2), [out] * len(ctx.lp.top)


def build_lrn(ctx: _Context) -> Built:
    shape = ctx.image_bottom()
    p = ctx.lp.lrn_param
    if p.local_size < 1 or p.local_size % 2 != 1:
        raise ctx.error(f"lrn_param.local_size must be odd, got {p.local_size}")
    if p.norm_region not in (LRN_ACROSS_CHANNELS, LRN_WITHIN_CHANNEL):
        raise ctx.error(f"unknown lrn_param.norm_region {p.norm_region}")
    return LRN(p.norm_region, p.local_size, p.alpha, p.beta, p.k), [shape]


def _same_shape(module: CaffeLayer) -> Callable[[_Context], Built]:
    def build(ctx: _Context) -> Built:
        (shape,) = ctx.bottoms(1)
        ctx.n_tops(1)
        return module, [shape]

    return build


def build_relu(ctx: _Context) -> Built:
    return _same_shape(ReLU(ctx.lp.relu_param.negative_slope))(ctx)


def build_dropout(ctx: _Context) -> Built:
    return _same_shape(Split(1))(ctx)


def build_softmax(ctx: _Context) -> Built:
    (shape,) = ctx.bottoms(1)
    return _same_shape(Softmax(ctx.axis(ctx.lp.softmax_param.axis, len(shape))))(ctx)


def build_split(ctx: _Context) -> Built:
    (shape,) = ctx.bottoms(1)
    return Split(len(ctx.lp.top)), [shape] * len(ctx.lp.top)


def build_concat(ctx: _Context) -> Built:
    shapes = ctx.bottoms()
    p = ctx.lp.concat_param
    axis = ctx.axis(p.concat_dim if p.HasField("concat_dim") else p.axis, len(shapes[0]))
    rest = {s[:axis] + s[axis + 1 :] for s in shapes}
    if len(rest) != 1 or len({len(s) for s in shapes}) != 1:
        raise ctx.error(f"bottom shapes {shapes} differ outside the concat axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return Concat(axis), [tuple(out)]


def build_eltwise(ctx: _Context) -> Built:
    shapes = ctx.bottoms()
    if len(set(shapes)) != 1:
        raise ctx.error(f"bottom shapes differ: {shapes}")
    p = ctx.lp.eltwise_param
    coeffs = tuple(p.coeff) or (1.0,) * len(shapes)
    if len(coeffs) != len(shapes):
        raise ctx.error(f"{len(coeffs)} coefficients for {len(shapes)} bottoms")
    if p.coeff and p.operation != ELTWISE_SUM:
        raise ctx.error("coefficients are only allowed with operation SUM")
    return Eltwise(p.operation, coeffs), [shapes[0]]


def build_flatten(ctx: _Context) -> Built:
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.flatten_param
    start, end = ctx.axis(p.axis, len(shape)), ctx.axis(p.end_axis, len(shape))
    if end < start:
        raise ctx.error(f"end_axis {p.end_axis} comes before axis {p.axis}")
    return Flatten(start, end), [(*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])]


LAYER_BUILDERS: dict[str, Callable[[_Context], Built]] = {
    "Convolution": build_convolution,
    "InnerProduct": build_inner_product,
    "Pooling": build_pooling,
    "LRN": build_lrn,
    "ReLU": build_relu,
    "Dropout": build_dropout,
    "Softmax": build_softmax,
    "Concat": build_concat,
    "Eltwise": build_eltwise,
    "Flatten": build_flatten,
    "Split": build_split,
}


def build_layer(lp: Any, bottom_shapes: list[Shape], source: str) -> Built:
    """Build the module for one ``LayerParameter`` given its bottom shapes."""
    builder = LAYER_BUILDERS.get(lp.type)
    if builder is None:
        supported = ", ".join(sorted(LAYER_BUILDERS))
        raise CaffeFormatError(
            f"{source}: layer '{lp.name}' has type '{lp.type}', which the port does not support "
            f"(supported: Input, {supported})"
        )
    return builder(_Context(lp, bottom_shapes, source))
