"""What every layer builder shares: the module base class, the build context and Caffe's parameter rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from port.caffe.errors import CaffeFormatError
from port.caffe.limits import check_blob_size

Shape = tuple[int, ...]
POSITIVE_SPATIAL_FIELDS = ("kernel", "kernel_size", "stride", "dilation")


class CaffeLayer(nn.Module):
    """A Caffe layer: ``forward(bottoms) -> tops``."""

    blob_names: tuple[str, ...] = ()

    def caffe_blobs(self) -> list[torch.Tensor]:
        """The learnable blobs in Caffe's order (e.g. weights, then bias)."""
        return [getattr(self, name) for name in self.blob_names]


def blob_parameters(layer: CaffeLayer, shapes: Sequence[Shape], names: Sequence[str] = ("weight", "bias")) -> None:
    """Register zero parameters of ``shapes`` under ``names`` (Caffe's blob order) on ``layer``."""
    names = tuple(names[: len(shapes)])
    for name, shape in zip(names, shapes):
        check_blob_size(shape, f"its {name} blob")
        layer.register_parameter(name, nn.Parameter(torch.zeros(shape)))
    layer.blob_names = names


Built = tuple[CaffeLayer, list[Shape]]


class BuildContext:
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
        """Caffe's ``CanonicalAxisIndex``: ``axis`` in ``[-ndim, ndim)``, negative counting from the end."""
        if not -ndim <= axis < ndim:
            raise self.error(f"axis {axis} is out of range for a {ndim}-D bottom")
        return axis % ndim

    def n_tops(self, count: int) -> None:
        if len(self.lp.top) != count:
            raise self.error(f"expects {count} top blob(s), has {len(self.lp.top)}")


def same_shape(module: CaffeLayer) -> Callable[[BuildContext], Built]:
    """A builder for a one-bottom, one-top layer whose top has the bottom's shape."""

    def build(ctx: BuildContext) -> Built:
        (shape,) = ctx.bottoms(1)
        ctx.n_tops(1)
        return module, [shape]

    return build


def hw(ctx: BuildContext, field: str, repeated: Sequence[int], h: int, w: int, default: int | None) -> tuple[int, int]:
    """Caffe's spatial parameter rule: ``<field>_h``/``<field>_w`` or 1-2 values of ``<field>``.

    As in Caffe, a kernel, stride or dilation must be positive.
    """
    pair = _hw_pair(ctx, field, repeated, h, w, default)
    if field in POSITIVE_SPATIAL_FIELDS and min(pair) < 1:
        raise ctx.error(f"{field} {pair} must be positive")
    return pair


def _hw_pair(
    ctx: BuildContext, field: str, repeated: Sequence[int], h: int, w: int, default: int | None
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
