"""PlantedCaffeNet: a CaffeNet-shaped network trained in real Caffe on the planted-facet images.

Ground truth for the project's methods (docs/planted.md): CaffeNet's layer
types and order at reduced widths (conv 24/64/96/96/64, fc 256/256) and one
output per class of ``port.planted.PLANTED`` (4).  Its weights,
``planted_caffenet.caffemodel`` beside this file, were written by Caffe 1.0
(Debian bullseye's ``python3-caffe``) after training on synthetic images by
``mfv train-planted``; they are trained here, on synthetic images, not
downloaded.
"""

from __future__ import annotations

from pathlib import Path

from port.caffe.loader import load_net
from port.caffe.network import CaffeNetwork

_HERE = Path(__file__).parent
PLANTED_CAFFENET_PROTOTXT = _HERE / "planted_caffenet.prototxt"
PLANTED_TRAIN_PROTOTXT = _HERE / "planted_caffenet_train.prototxt"
PLANTED_SOLVER_PROTOTXT = _HERE / "planted_caffenet_solver.prototxt"
PLANTED_CAFFENET_WEIGHTS = _HERE / "planted_caffenet.caffemodel"
TRAINING_RECORD = _HERE / "planted_caffenet.json"
"""What ``mfv planted train`` recorded of the committed training: recipe, kernel, threads, time, SHA-256s."""
PLANTED_INPUT_SIZE = 227
HELD_OUT_SEED = 2
"""Seed of the images the measurements use; training used seed 0 (``parity.comparisons.planted_training``)."""

TRAINED_HERE = "trained here in Caffe 1.0 on synthetic planted-facet images (docs/planted.md)"


def planted_caffenet(weights: str | Path | None = None) -> CaffeNetwork:
    """PlantedCaffeNet with the committed trained weights, or with the ``.caffemodel`` at ``weights``."""
    path = PLANTED_CAFFENET_WEIGHTS if weights is None else Path(weights)
    net = load_net(PLANTED_CAFFENET_PROTOTXT, path)
    if weights is None:
        net.weights_description = f"{path.name}: {TRAINED_HERE}"
    return net
