"""Every network the port can build, by the name ``port.models.<name>`` and ``--net NAME`` use.

Names follow one rule: torchvision's own names for torchvision networks
(``vgg16``), ``caffe_`` plus the family name for the published Caffe
definitions (``caffe_vgg16``), ``caffenet`` for the MFV paper's network and ``planted_caffenet`` for the
network trained here on the planted-facet images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from port.models import torchvision_nets
from port.models.caffe_zoo import CAFFE_ZOO
from port.models.caffenet import caffenet
from port.models.planted_caffenet import planted_caffenet

NETS: dict[str, Callable[..., Any]] = {
    "caffenet": caffenet,
    "planted_caffenet": planted_caffenet,
    **CAFFE_ZOO,
    **{name: getattr(torchvision_nets, name) for name in torchvision_nets.BUILDERS},
}


def net_factory(name: str) -> Callable[..., Any]:
    """The factory of the network called ``name``; a clear error listing the known names otherwise."""
    try:
        return NETS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; known networks: {', '.join(sorted(NETS))}") from None
