"""PyTorch modules for Caffe layer types, each built from its ``LayerParameter``.

Every builder takes the layer's protobuf message and the shapes of its bottom
blobs, checks them the way Caffe's ``LayerSetUp``/``Reshape`` would, and
returns the module and the shapes of its top blobs.  Modules map a list of
bottom tensors to a list of top tensors.  Learnable blobs are parameters in
Caffe's blob order (``CaffeLayer.blob_names``).

One module per kind: :mod:`.convolution` (Convolution, Deconvolution,
InnerProduct), :mod:`.pooling` (Pooling, LRN), :mod:`.neuron` (element-wise
layers), :mod:`.normalization` (BatchNorm, Scale, Bias) and
:mod:`.structure` (Split, Dropout, Concat, Slice, Eltwise, Flatten, Reshape,
Crop, Softmax).

Test-phase semantics throughout: Dropout is the identity, BatchNorm uses its
stored statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from port.caffe.errors import CaffeFormatError
from port.caffe.layers import convolution, neuron, normalization, pooling, structure
from port.caffe.layers.base import BuildContext, Built, CaffeLayer, Shape
from port.caffe.layers.convolution import Convolution, Deconvolution, InnerProduct
from port.caffe.layers.neuron import PReLU, ReLU
from port.caffe.layers.normalization import BatchNorm, Bias, Scale
from port.caffe.layers.pooling import LRN, POOL_AVE, POOL_MAX, Pooling
from port.caffe.layers.structure import Concat, Crop, Eltwise, Flatten, Reshape, Slice, Softmax, Split

__all__ = [
    "LAYER_BUILDERS",
    "LRN",
    "POOL_AVE",
    "POOL_MAX",
    "BatchNorm",
    "Bias",
    "CaffeLayer",
    "Concat",
    "Convolution",
    "Crop",
    "Deconvolution",
    "Eltwise",
    "Flatten",
    "InnerProduct",
    "PReLU",
    "Pooling",
    "ReLU",
    "Reshape",
    "Scale",
    "Shape",
    "Slice",
    "Softmax",
    "Split",
    "build_layer",
]

LAYER_BUILDERS: dict[str, Callable[[BuildContext], Built]] = {
    "Convolution": convolution.build_convolution,
    "Deconvolution": convolution.build_deconvolution,
    "InnerProduct": convolution.build_inner_product,
    "Pooling": pooling.build_pooling,
    "LRN": pooling.build_lrn,
    "ReLU": neuron.build_relu,
    "PReLU": neuron.build_prelu,
    "ELU": neuron.build_neuron,
    "Sigmoid": neuron.build_neuron,
    "TanH": neuron.build_neuron,
    "AbsVal": neuron.build_neuron,
    "BNLL": neuron.build_neuron,
    "Exp": neuron.build_neuron,
    "Log": neuron.build_neuron,
    "Power": neuron.build_neuron,
    "BatchNorm": normalization.build_batch_norm,
    "Scale": normalization.build_scale,
    "Bias": normalization.build_bias,
    "Dropout": structure.build_dropout,
    "Softmax": structure.build_softmax,
    "Concat": structure.build_concat,
    "Slice": structure.build_slice,
    "Eltwise": structure.build_eltwise,
    "Flatten": structure.build_flatten,
    "Reshape": structure.build_reshape,
    "Crop": structure.build_crop,
    "Split": structure.build_split,
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
    return builder(BuildContext(lp, bottom_shapes, source))
