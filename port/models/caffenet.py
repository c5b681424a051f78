"""CaffeNet with LRN (the BVLC reference CaffeNet), the network of the MFV paper."""

from __future__ import annotations

from pathlib import Path

from port.caffe.loader import fill_random, load_net
from port.caffe.network import CaffeNetwork

CAFFENET_PROTOTXT = Path(__file__).with_name("caffenet.prototxt")


def caffenet(weights: str | Path | None = None, *, seed: int = 0) -> CaffeNetwork:
    """CaffeNet with the weights of a ``.caffemodel`` (V1 or V2).

    With ``weights=None`` the net gets deterministic random weights drawn
    from ``seed`` (He-scaled Gaussians, ``legacy_caffe.random_weights``):
    a stand-in for tests and demos, not a trained network.  The choice is
    recorded in ``net.weights_description``.
    """
    if weights is None:
        return fill_random(load_net(CAFFENET_PROTOTXT), seed)
    return load_net(CAFFENET_PROTOTXT, weights)
