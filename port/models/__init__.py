"""Model factories: one per architecture, weights passed explicitly."""

from port.models.caffe_zoo import (
    caffe_alexnet,
    caffe_googlenet,
    caffe_nin,
    caffe_resnet50,
    caffe_resnet101,
    caffe_resnet152,
    caffe_squeezenet1_0,
    caffe_squeezenet1_1,
    caffe_vgg16,
    caffe_vgg19,
    score_target,
    write_zoo_prototxt,
    zoo_prototxt,
)
from port.models.caffenet import CAFFENET_PROTOTXT, caffenet
from port.models.registry import NETS, net_factory

__all__ = [
    "CAFFENET_PROTOTXT",
    "NETS",
    "caffe_alexnet",
    "caffe_googlenet",
    "caffe_nin",
    "caffe_resnet50",
    "caffe_resnet101",
    "caffe_resnet152",
    "caffe_squeezenet1_0",
    "caffe_squeezenet1_1",
    "caffe_vgg16",
    "caffe_vgg19",
    "caffenet",
    "net_factory",
    "score_target",
    "write_zoo_prototxt",
    "zoo_prototxt",
]
