"""Pooling and local response normalisation, with Caffe's geometry (``port.ops``)."""

from __future__ import annotations

import torch

from port.caffe.layers.base import BuildContext, Built, CaffeLayer, hw
from port.ops import (
    PoolGeometry,
    ave_pool,
    gather_pool,
    lrn_across_channels,
    lrn_within_channel,
    max_pool,
    pooled_shape,
)

POOL_MAX, POOL_AVE = 0, 1
LRN_ACROSS_CHANNELS, LRN_WITHIN_CHANNEL = 0, 1


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


def build_pooling(ctx: BuildContext) -> Built:
    """Caffe's pooling; ``global_pooling`` takes the whole plane (Caffe then requires pad 0 and stride 1)."""
    n, c, h, w = ctx.image_bottom()
    p = ctx.lp.pooling_param
    if p.pool not in (POOL_MAX, POOL_AVE):
        raise ctx.error("only MAX and AVE pooling are supported")
    if p.global_pooling:
        if p.kernel_size or p.kernel_h or p.kernel_w:
            raise ctx.error("global_pooling takes no kernel size")
        if p.pad or p.pad_h or p.pad_w or p.stride != 1 or p.stride_h > 1 or p.stride_w > 1:
            raise ctx.error("global_pooling needs pad 0 and stride 1 (Caffe's rule)")
        geom = PoolGeometry((h, w), (1, 1), (0, 0))
    else:
        geom = PoolGeometry(
            kernel=hw(ctx, "kernel_size", [p.kernel_size] if p.kernel_size else [], p.kernel_h, p.kernel_w, None),
            stride=hw(ctx, "stride", [p.stride] if p.HasField("stride") else [], p.stride_h, p.stride_w, 1),
            pad=hw(ctx, "pad", [p.pad] if p.HasField("pad") else [], p.pad_h, p.pad_w, 0),
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


def build_lrn(ctx: BuildContext) -> Built:
    shape = ctx.image_bottom()
    p = ctx.lp.lrn_param
    if p.local_size < 1 or p.local_size % 2 != 1:
        raise ctx.error(f"lrn_param.local_size must be odd, got {p.local_size}")
    if p.norm_region not in (LRN_ACROSS_CHANNELS, LRN_WITHIN_CHANNEL):
        raise ctx.error(f"unknown lrn_param.norm_region {p.norm_region}")
    return LRN(p.norm_region, p.local_size, p.alpha, p.beta, p.k), [shape]
