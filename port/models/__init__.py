"""Model factories: one per architecture, weights passed explicitly."""

from port.models.caffenet import CAFFENET_PROTOTXT, caffenet

__all__ = ["CAFFENET_PROTOTXT", "caffenet"]
