"""Numerical kernels with Caffe / scipy / scikit-image semantics, one module each."""
from port.ops.lrn import lrn_across_channels, lrn_within_channel
from port.ops.pooling import PoolGeometry, ave_pool, caffe_pool_extent, gather_pool, max_pool, pooled_shape

__all__ = [
    "PoolGeometry",
    "ave_pool",
    "caffe_pool_extent",
    "gather_pool",
    "lrn_across_channels",
    "lrn_within_channel",
    "max_pool",
    "pooled_shape",
]
