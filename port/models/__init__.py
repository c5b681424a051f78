"""Model factories: one per architecture, weights passed explicitly (``NETS`` maps each name to its factory)."""

from port.models.caffenet import CAFFENET_PROTOTXT, caffenet
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
    "alexnet",
    "caffenet",
    "googlenet",
    "mobilenet_v2",
    "net_factory",
    "resnet50",
    "squeezenet1_0",
    "squeezenet1_1",
    "vgg16",
]
