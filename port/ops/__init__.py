"""Numerical kernels with Caffe / scipy / scikit-image semantics, one module each."""

from port.ops.lrn import lrn_across_channels, lrn_within_channel
from port.ops.pooling import PoolGeometry, ave_pool, caffe_pool_extent, gather_pool, max_pool, pooled_shape
from port.ops.strided_conv import strided_conv2d
from port.ops.tv import BregmanResult, tv_bregman
from port.ops.zoom import zoom

__all__ = [
    "BregmanResult",
    "PoolGeometry",
    "ave_pool",
    "caffe_pool_extent",
    "gather_pool",
    "lrn_across_channels",
    "lrn_within_channel",
    "max_pool",
    "pooled_shape",
    "strided_conv2d",
    "tv_bregman",
    "zoom",
]
