"""Layers that move, copy, combine or normalise blobs without parameters.

Split, Dropout (the identity at test time), Concat, Slice, Eltwise, Flatten,
Reshape, Crop and Softmax, with Caffe 1.0's shape rules
(``src/caffe/layers/<name>_layer.cpp``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from port.caffe.layers.base import BuildContext, Built, CaffeLayer, Shape, same_shape

ELTWISE_PROD, ELTWISE_SUM, ELTWISE_MAX = 0, 1, 2


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


class Slice(CaffeLayer):
    """Consecutive pieces of the bottom along ``axis``, of the given sizes."""

    def __init__(self, axis: int, sizes: Sequence[int]):
        super().__init__()
        self.axis, self.sizes = axis, list(sizes)

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return list(torch.split(bottoms[0], self.sizes, dim=self.axis))


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


class Reshape(CaffeLayer):
    """Axes ``[start, end)`` of the bottom replaced by ``dims`` (0 copies the bottom's axis, -1 is inferred).

    Resolved on each call, so a batch of another size reshapes as Caffe's
    ``Reshape`` would after ``net.reshape``.
    """

    def __init__(self, start: int, end: int, dims: Sequence[int]):
        super().__init__()
        self.start, self.end, self.dims = start, end, tuple(dims)

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0]
        middle = [x.shape[self.start + i] if d == 0 else d for i, d in enumerate(self.dims)]
        return [x.reshape(*x.shape[: self.start], *middle, *x.shape[self.end :])]


class Crop(CaffeLayer):
    """``bottom[0][..., o_a : o_a + s_a, ...]`` for the axes ``a >= axis``, ``s`` the second bottom's shape.

    The second bottom only gives the shape: it gets no gradient, as in Caffe.
    """

    def __init__(self, axis: int, offsets: Sequence[int], size: Shape):
        super().__init__()
        self.axis, self.offsets, self.size = axis, tuple(offsets), size

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0]
        index = [slice(None)] * self.axis + [slice(o, o + s) for o, s in zip(self.offsets, self.size)]
        return [x[tuple(index)]]


def build_dropout(ctx: BuildContext) -> Built:
    return same_shape(Split(1))(ctx)


def build_softmax(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    return same_shape(Softmax(ctx.axis(ctx.lp.softmax_param.axis, len(shape))))(ctx)


def build_split(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    return Split(len(ctx.lp.top)), [shape] * len(ctx.lp.top)


def build_concat(ctx: BuildContext) -> Built:
    shapes = ctx.bottoms()
    p = ctx.lp.concat_param
    axis = ctx.axis(p.concat_dim if p.HasField("concat_dim") else p.axis, len(shapes[0]))
    rest = {s[:axis] + s[axis + 1 :] for s in shapes}
    if len(rest) != 1 or len({len(s) for s in shapes}) != 1:
        raise ctx.error(f"bottom shapes {shapes} differ outside the concat axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return Concat(axis), [tuple(out)]


def build_slice(ctx: BuildContext) -> Built:
    """Caffe's Slice: ``slice_point`` (one fewer than tops, increasing) or equal parts along ``axis``."""
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.slice_param
    axis = ctx.axis(p.slice_dim if p.HasField("slice_dim") else p.axis, len(shape))
    n_tops, extent = len(ctx.lp.top), shape[axis]
    points = list(p.slice_point)
    if points:
        if len(points) != n_tops - 1:
            raise ctx.error(f"{len(points)} slice_point value(s) for {n_tops} tops; expected {n_tops - 1}")
        bounds = [0, *points, extent]
        sizes = [b - a for a, b in zip(bounds, bounds[1:])]
        if min(sizes) < 1:
            raise ctx.error(f"slice_point {points} must increase strictly inside (0, {extent}) on axis {axis}")
    else:
        if n_tops < 1 or extent % n_tops:
            raise ctx.error(f"axis {axis} of extent {extent} does not split into {n_tops} equal parts")
        sizes = [extent // n_tops] * n_tops
    tops = [(*shape[:axis], size, *shape[axis + 1 :]) for size in sizes]
    return Slice(axis, sizes), tops


def build_eltwise(ctx: BuildContext) -> Built:
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


def build_flatten(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.flatten_param
    start, end = ctx.axis(p.axis, len(shape)), ctx.axis(p.end_axis, len(shape))
    if end < start:
        raise ctx.error(f"end_axis {p.end_axis} comes before axis {p.axis}")
    return Flatten(start, end), [(*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])]


def build_reshape(ctx: BuildContext) -> Built:
    """Caffe's Reshape: dims ``[axis, axis + num_axes)`` replaced by ``shape`` (0 copies, -1 infers)."""
    (shape,) = ctx.bottoms(1)
    p = ctx.lp.reshape_param
    ndim = len(shape)
    start = p.axis if p.axis >= 0 else ndim + p.axis + 1
    end = ndim if p.num_axes == -1 else start + p.num_axes
    if not 0 <= start <= ndim or p.num_axes < -1 or end > ndim:
        raise ctx.error(f"axis {p.axis} and num_axes {p.num_axes} do not fit the {ndim}-D bottom {shape}")
    dims = list(p.shape.dim)
    if dims.count(-1) > 1 or min(dims, default=0) < -1:
        raise ctx.error(f"shape {dims}: at most one -1 and no other negative dimension")
    middle = []
    for i, d in enumerate(dims):
        if d == 0:
            if start + i >= ndim:
                raise ctx.error(f"shape {dims}: dimension {i} copies axis {start + i}, beyond the bottom {shape}")
            d = shape[start + i]
        middle.append(d)
    out = [*shape[:start], *middle, *shape[end:]]
    total, known = math.prod(shape), math.prod(d for d in out if d != -1)
    if -1 in out:
        if known == 0 or total % known:
            raise ctx.error(f"shape {dims} cannot take the {total} values of bottom {shape}")
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise ctx.error(f"shape {tuple(out)} holds {math.prod(out)} values, bottom {shape} has {total}")
    ctx.n_tops(1)
    return Reshape(start, end, dims), [tuple(out)]


def build_crop(ctx: BuildContext) -> Built:
    """Caffe's Crop: offsets none (0), one for all cropped axes, or one per axis from ``axis``."""
    big, small = ctx.bottoms(2)
    if len(big) != len(small):
        raise ctx.error(f"bottoms {big} and {small} differ in rank")
    p = ctx.lp.crop_param
    axis = ctx.axis(p.axis, len(big))
    n = len(big) - axis
    given = list(p.offset)
    if len(given) not in (0, 1, n):
        raise ctx.error(f"{len(given)} offsets for {n} cropped axes; give 0, 1 or {n}")
    offsets = given * n if len(given) == 1 else given or [0] * n
    for a, o in zip(range(axis, len(big)), offsets):
        if big[a] - o < small[a]:
            raise ctx.error(f"axis {a}: offset {o} + size {small[a]} exceeds the extent {big[a]} of {big}")
    ctx.n_tops(1)
    return Crop(axis, offsets, small[axis:]), [(*big[:axis], *small[axis:])]
