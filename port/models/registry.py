"""Every network the port can build, by the name ``port.models.<name>`` and ``--net NAME`` use.

Names follow one rule: torchvision's own names for torchvision networks
(``vgg16``), ``caffe_`` plus the family name for the published Caffe
definitions (``caffe_vgg16``), and ``caffenet`` for the MFV paper's network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from port.models.caffenet import caffenet
from port.models.torchvision_nets import (
    alexnet,
    googlenet,
    mobilenet_v2,
    resnet50,
    squeezenet1_0,
    squeezenet1_1,
    vgg16,
)

NETS: dict[str, Callable[..., Any]] = {
    "caffenet": caffenet,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "googlenet": googlenet,
    "squeezenet1_0": squeezenet1_0,
    "squeezenet1_1": squeezenet1_1,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
}


def net_factory(name: str) -> Callable[..., Any]:
    """The factory of the network called ``name``; a clear error listing the known names otherwise."""
    try:
        return NETS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; known networks: {', '.join(sorted(NETS))}") from None
