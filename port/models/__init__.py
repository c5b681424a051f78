"""Model factories: one per architecture, weights passed explicitly (``NETS`` maps each name to its factory)."""

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
from port.models.planted_caffenet import PLANTED_CAFFENET_PROTOTXT, PLANTED_CAFFENET_WEIGHTS, planted_caffenet
from port.models.registry import NETS, net_factory
from port.models.torchvision_nets import (
    alexnet,
    googlenet,
    mobilenet_v2,
    resnet50,
    squeezenet1_0,
    squeezenet1_1,
    vgg16,
)

__all__ = [
    "CAFFENET_PROTOTXT",
    "NETS",
    "PLANTED_CAFFENET_PROTOTXT",
    "PLANTED_CAFFENET_WEIGHTS",
    "alexnet",
    "caffe_alexnet",
    "caffe_googlenet",
    "caffe_nin",
    "caffe_resnet101",
    "caffe_resnet152",
    "caffe_resnet50",
    "caffe_squeezenet1_0",
    "caffe_squeezenet1_1",
    "caffe_vgg16",
    "caffe_vgg19",
    "caffenet",
    "googlenet",
    "mobilenet_v2",
    "net_factory",
    "planted_caffenet",
    "resnet50",
    "score_target",
    "squeezenet1_0",
    "squeezenet1_1",
    "vgg16",
    "write_zoo_prototxt",
    "zoo_prototxt",
]
