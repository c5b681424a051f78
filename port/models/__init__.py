"""Model factories: one per architecture, weights passed explicitly."""

from port.models.caffenet import CAFFENET_PROTOTXT, caffenet
from port.models.registry import NETS, net_factory

__all__ = ["CAFFENET_PROTOTXT", "NETS", "caffenet", "net_factory"]
