"""BatchNorm, Scale and Bias: the per-channel affine layers of ResNet-style nets.

Scale and Bias (``scale_layer.cpp``, ``bias_layer.cpp``) broadcast a blob
``b`` of shape ``bottom.shape[axis : axis + num_axes]`` (``num_axes = -1``:
to the last axis; ``0``: a scalar) over the bottom: ``y = x * scale`` (plus
``bias`` with ``bias_term``) or ``y = x + bias``.  The blob is learned, or
with a second bottom it is that bottom (``axis`` then applies to it, and a
0-D second bottom is a scalar).  Caffe's blob order for Scale is
``[scale, bias]``.
"""

from __future__ import annotations

import torch

from port.caffe.layers.base import BuildContext, Built, CaffeLayer, Shape, blob_parameters, same_shape
from port.ops.batch_norm import batch_norm_global


class BatchNorm(CaffeLayer):
    """Caffe's BatchNorm (``port.ops.batch_norm``); blobs ``mean``, ``variance``, ``scale_factor``."""

    def __init__(self, channels: int, eps: float):
        super().__init__()
        blob_parameters(self, [(channels,), (channels,), (1,)], names=("mean", "variance", "scale_factor"))
        self.eps = eps

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [batch_norm_global(bottoms[0], self.mean, self.variance, self.scale_factor, self.eps)]


def _broadcast(blob: torch.Tensor, axis: int, ndim: int) -> torch.Tensor:
    """``blob`` (the bottom's axes ``axis ..``) with trailing unit axes to broadcast over the bottom."""
    return blob.reshape(*blob.shape, *([1] * (ndim - axis - blob.ndim)))


class Scale(CaffeLayer):
    """``x * scale`` (+ ``bias``), ``scale`` learned or the second bottom; see the module docstring."""

    def __init__(self, axis: int, scale: Shape | None, bias: Shape | None):
        super().__init__()
        shapes = [s for s in (scale, bias) if s is not None]
        names = [n for n, s in (("weight", scale), ("bias", bias)) if s is not None]
        blob_parameters(self, shapes, names)
        self.axis = axis

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0]
        scale = self.weight if "weight" in self.blob_names else bottoms[1]
        y = x * _broadcast(scale, self.axis, x.ndim)
        if "bias" in self.blob_names:
            y = y + _broadcast(self.bias, self.axis, x.ndim)
        return [y]


class Bias(CaffeLayer):
    """``x + bias``, ``bias`` learned or the second bottom; see the module docstring."""

    def __init__(self, axis: int, bias: Shape | None):
        super().__init__()
        blob_parameters(self, [bias] if bias is not None else [], ("bias",))
        self.axis = axis

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0]
        bias = self.bias if self.blob_names else bottoms[1]
        return [x + _broadcast(bias, self.axis, x.ndim)]


def build_batch_norm(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.batch_norm_param
    if p.HasField("use_global_stats") and not p.use_global_stats:
        raise ctx.error(
            "use_global_stats: false (batch statistics, which Caffe also accumulates into the layer's "
            "blobs on every forward pass) is not supported; deploy nets use the stored statistics"
        )
    if len(shape) < 2:
        raise ctx.error(f"expects a bottom with a channel axis (at least 2-D), got shape {shape}")
    return same_shape(BatchNorm(shape[1], p.eps))(ctx)


def _operand(ctx: BuildContext, axis_field: int, num_axes: int) -> tuple[int, Shape, bool]:
    """``(axis, operand shape, learned?)`` by Caffe's rules for Scale and Bias, checked against the bottom."""
    shapes = ctx.bottoms()
    if len(shapes) > 2:
        raise ctx.error(f"expects 1 or 2 bottom blobs, has {len(shapes)}")
    ctx.n_tops(1)
    bottom = shapes[0]
    if len(shapes) == 2:
        operand = shapes[1]
        axis = 0 if not operand else ctx.axis(axis_field, len(bottom))
    else:
        axis = ctx.axis(axis_field, len(bottom))
        if num_axes < -1 or (num_axes >= 0 and axis + num_axes > len(bottom)):
            raise ctx.error(f"num_axes {num_axes} from axis {axis} does not fit the {len(bottom)}-D bottom")
        operand = bottom[axis:] if num_axes == -1 else bottom[axis : axis + num_axes]
    if bottom[axis : axis + len(operand)] != operand:
        raise ctx.error(f"operand shape {operand} does not match bottom shape {bottom} from axis {axis}")
    return axis, operand, len(shapes) == 1


def build_scale(ctx: BuildContext) -> Built:
    p = ctx.lp.scale_param
    axis, operand, learned = _operand(ctx, p.axis, p.num_axes)
    module = Scale(axis, operand if learned else None, operand if p.bias_term else None)
    return module, [ctx.bottom_shapes[0]]


def build_bias(ctx: BuildContext) -> Built:
    p = ctx.lp.bias_param
    axis, operand, learned = _operand(ctx, p.axis, p.num_axes)
    return Bias(axis, operand if learned else None), [ctx.bottom_shapes[0]]
