"""The published Caffe architectures, generated as prototxt text (one module per family).

:data:`PROTOTXTS` maps each ``caffe_<family>`` name of
``port.models.registry`` to a function returning its deploy prototxt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from port.models.zoo.alexnet import alexnet_prototxt
from port.models.zoo.googlenet import googlenet_prototxt
from port.models.zoo.nin import nin_prototxt
from port.models.zoo.resnet import resnet_prototxt
from port.models.zoo.squeezenet import squeezenet_prototxt
from port.models.zoo.vgg import VGG16_BLOCKS, VGG19_BLOCKS, vgg_prototxt

PROTOTXTS: dict[str, Callable[[], str]] = {
    "caffe_alexnet": alexnet_prototxt,
    "caffe_googlenet": googlenet_prototxt,
    "caffe_squeezenet1_0": functools.partial(squeezenet_prototxt, "1.0"),
    "caffe_squeezenet1_1": functools.partial(squeezenet_prototxt, "1.1"),
    "caffe_vgg16": functools.partial(vgg_prototxt, "VGG_ILSVRC_16_layers", VGG16_BLOCKS),
    "caffe_vgg19": functools.partial(vgg_prototxt, "VGG_ILSVRC_19_layers", VGG19_BLOCKS),
    "caffe_resnet50": functools.partial(resnet_prototxt, 50),
    "caffe_resnet101": functools.partial(resnet_prototxt, 101),
    "caffe_resnet152": functools.partial(resnet_prototxt, 152),
    "caffe_nin": nin_prototxt,
}

__all__ = ["PROTOTXTS"]
