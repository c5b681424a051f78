"""The model seam: what the MFV loop and step need of a network, and nothing about which network it is.

``CaffeNetwork`` (``port.caffe``) and the torchvision models
(``port.models.torchvision_nets``) implement :class:`VisModel`; a test can
pass any object with these members.
"""

from __future__ import annotations

from typing import Protocol

import torch

from port.imaging import InputConvention
from port.targets import LayerShape, Target


class VisModel(Protocol):
    """A network as the loop sees it.

    ``convention``: how pixels become its input (colour order, scale, mean,
    std).  ``input_size``: (height, width) of the crops it takes.
    ``weights_description``: where its weights came from, in words (says
    "random" for random weights).  ``source``: the net in words (a file, a
    name).  ``class_layer`` / ``prob_layer``: the outputs holding the class
    scores and their softmax (``fc8`` / ``prob`` for CaffeNet, ``logits`` /
    ``prob`` for torchvision nets; ``prob_layer`` may be None).
    ``net_name``: the network's name.  ``penultimate``: the code the final
    classifier reads (``fc7`` for CaffeNet), for the gallery's diversity.
    """

    convention: InputConvention
    weights_description: str
    source: str
    class_layer: str
    prob_layer: str | None
    net_name: str
    penultimate: str

    @property
    def input_size(self) -> tuple[int, int]: ...

    @property
    def device(self) -> torch.device: ...

    def layer_shapes(self) -> list[LayerShape]:
        """Every targetable output, in forward order, with its shape (batch dimension first)."""

    def code_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every output :meth:`codes` can read, by name, with its shape (batch dimension first)."""

    def codes(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """The output ``name`` for inputs ``x``, flattened per image (N, D), without gradients."""

    def scores_and_gradient(self, crops: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
        """The target output's scores (N, C) - at (y, x) for spatial outputs - and d scores[n, unit] / d crops[n]."""
