"""Targets checked against a Caffe net before a run: the layer exists, the unit and position are in range."""

from __future__ import annotations

from collections.abc import Mapping

from port.caffe.network import CaffeNetwork
from port.targets import TARGET_FLAGS, Target
from port.targets import check_target as check_layer_target


def check_target(net: CaffeNetwork, target: Target, flags: Mapping[str, str] = TARGET_FLAGS) -> None:
    """:func:`port.targets.check_target` against ``net``'s layers (each layer's first top)."""
    check_layer_target(net.layer_shapes(), target, net.source, flags)
