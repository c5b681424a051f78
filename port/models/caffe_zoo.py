"""Factories for the published Caffe architectures: ``port.models.caffe_<family>(weights=..., seed=...)``.

Each builds its net from the prototxt text of :mod:`port.models.zoo`.  With
``weights`` (a ``.caffemodel``, V1 or V2, e.g. the published trained file)
the blobs are copied in by layer name; with ``weights=None`` the net gets
deterministic random weights drawn from ``seed``
(``legacy_caffe.random_weights``): a stand-in for tests and benchmarks, not
a trained network, as ``net.weights_description`` says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from port.atomic import atomic_write_text
from port.caffe.gradients import Target
from port.caffe.loader import fill_random, load_net_text
from port.caffe.network import CaffeNetwork
from port.models.zoo import PROTOTXTS

Factory = Callable[..., CaffeNetwork]


def zoo_prototxt(name: str) -> str:
    """The deploy prototxt text of the architecture ``name`` (a key of :data:`PROTOTXTS`)."""
    try:
        return PROTOTXTS[name]()
    except KeyError:
        raise ValueError(f"unknown Caffe architecture {name!r}; known: {', '.join(PROTOTXTS)}") from None


def write_zoo_prototxt(name: str, path: str | Path) -> Path:
    """Write the prototxt of ``name`` to ``path`` (atomically) for tools that read files, e.g. Caffe."""
    atomic_write_text(path, zoo_prototxt(name))
    return Path(path)


def _factory(name: str) -> Factory:
    def make(weights: str | Path | None = None, *, seed: int = 0) -> CaffeNetwork:
        net = load_net_text(zoo_prototxt(name), name, weights)
        return fill_random(net, seed) if weights is None else net

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"``{name}`` with the blobs of the caffemodel ``weights``, or random weights from ``seed``."
    return make


caffe_alexnet = _factory("caffe_alexnet")
caffe_googlenet = _factory("caffe_googlenet")
caffe_squeezenet1_0 = _factory("caffe_squeezenet1_0")
caffe_squeezenet1_1 = _factory("caffe_squeezenet1_1")
caffe_vgg16 = _factory("caffe_vgg16")
caffe_vgg19 = _factory("caffe_vgg19")
caffe_resnet50 = _factory("caffe_resnet50")
caffe_resnet101 = _factory("caffe_resnet101")
caffe_resnet152 = _factory("caffe_resnet152")
caffe_nin = _factory("caffe_nin")

CAFFE_ZOO: dict[str, Factory] = {
    "caffe_alexnet": caffe_alexnet,
    "caffe_googlenet": caffe_googlenet,
    "caffe_squeezenet1_0": caffe_squeezenet1_0,
    "caffe_squeezenet1_1": caffe_squeezenet1_1,
    "caffe_vgg16": caffe_vgg16,
    "caffe_vgg19": caffe_vgg19,
    "caffe_resnet50": caffe_resnet50,
    "caffe_resnet101": caffe_resnet101,
    "caffe_resnet152": caffe_resnet152,
    "caffe_nin": caffe_nin,
}

# The layer whose top holds each net's class scores, with (y, x) where that top is 4-D (1 x 1000 x 1 x 1).
SCORE_LAYERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "caffe_alexnet": ("fc8", ()),
    "caffe_googlenet": ("loss3/classifier", ()),
    "caffe_squeezenet1_0": ("pool10", (0, 0)),
    "caffe_squeezenet1_1": ("pool10", (0, 0)),
    "caffe_vgg16": ("fc8", ()),
    "caffe_vgg19": ("fc8", ()),
    "caffe_resnet50": ("fc1000", ()),
    "caffe_resnet101": ("fc1000", ()),
    "caffe_resnet152": ("fc1000", ()),
    "caffe_nin": ("pool4", (0, 0)),
}


def score_target(name: str, unit: int) -> Target:
    """A one-hot at class ``unit`` of the score blob of the architecture ``name`` (before any softmax)."""
    layer, spatial = SCORE_LAYERS[name]
    return Target(layer, unit, *spatial)
