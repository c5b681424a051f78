"""ReLU sign near-ties: units that one stack switches on and the other off.

A ReLU input equal to zero up to rounding can come out positive in one
stack and non-positive in the other.  Forward that moves the blob by no more
than the rounding; backward the unit passes its whole diff in one stack and
none (or ``negative_slope`` of it) in the other, which can move every diff
below it by percents, as in deep residual nets where a sum of two branches
often cancels.  Caffe's on/off pattern is its ReLU top blob ``> 0``, read
from its forward dump where the blob still holds the ReLU's output: when no
layer but Dropout (the identity at test time) writes the blob after the ReLU.
A flipped unit is a near-tie when the forward blob is within tolerance: its
value is then at most the tolerance times the blob's largest value.

Following Caffe at a flipped unit moves the port's forward values below it
by that unit's value (a rounding), so a unit further down, itself within
rounding of zero, can then flip where it did not before (seen on ResNet-152
with two torch threads: its unforced pass flips 3 units; following them, one
unit each of ``res4b6_branch2b_relu`` and ``res4b6_relu`` flips too, and the
data gradient stayed 6.2e-3 off until those were followed as well).
:func:`follow_flips` therefore takes the layers in network order: each
layer's flips are counted in a forward pass that already follows Caffe in
every earlier flipped layer, until a pass finds none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import torch

from parity.stacks.results import LayersDump
from port.caffe import CaffeNetwork

IDENTITY_AT_TEST = ("Dropout",)


@dataclass(frozen=True)
class ReluFlips:
    """One ReLU layer: how many units it switches otherwise than Caffe, the largest port value among
    them and ``blob_max``, ``max |x|`` over the port's whole ReLU top."""

    units: int
    max_abs_value: float
    blob_max: float

    @property
    def relative_value(self) -> float:
        """:attr:`max_abs_value` relative to :attr:`blob_max`: a unit whose value rounds to the other
        side of zero in Caffe is within the forward tolerance (``max_rel``) of it, so at most that."""
        return self.max_abs_value / self.blob_max if self.blob_max else 0.0

    def as_dict(self) -> dict:
        return asdict(self) | {"relative_value": self.relative_value}


def legacy_active(net: CaffeNetwork, dump: LayersDump) -> dict[str, np.ndarray]:
    """Caffe's on/off pattern (top ``> 0``) of every ReLU whose output the dump still holds."""
    patterns = {}
    for step in net.steps:
        if step.type != "ReLU":
            continue
        blob = step.tops[0]
        writers = net.steps_writing(blob)
        later = writers[writers.index(step) + 1 :]
        if blob in dump.blob_names() and all(s.type in IDENTITY_AT_TEST for s in later):
            patterns[step.name] = dump.blob(blob) > 0
    return patterns


def find_flips(
    net: CaffeNetwork, port_blobs: dict[str, torch.Tensor], patterns: dict[str, np.ndarray]
) -> dict[str, ReluFlips]:
    """Per ReLU layer with at least one unit on in one stack and off in the other."""
    flips = {}
    for name, legacy_on in patterns.items():
        port_out = port_blobs[net.step(name).tops[0]].detach().cpu().numpy()
        flipped = (port_out > 0) != legacy_on
        if flipped.any():
            magnitude = np.abs(port_out)
            flips[name] = ReluFlips(int(flipped.sum()), float(magnitude[flipped].max()), float(magnitude.max()))
    return flips


def follow_flips(
    net: CaffeNetwork,
    x: torch.Tensor,
    patterns: dict[str, np.ndarray],
    pool_argmax: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, ReluFlips]:
    """Every ReLU layer that flips once the port follows Caffe in all earlier flipped layers.

    Repeats a forward pass of ``x`` (with Caffe's max-pool choices
    ``pool_argmax``, as the attributed backward pass uses them) whose
    flipped layers so far take Caffe's ``patterns``; the first layer in
    network order that still flips joins them, with the units it flips in
    that pass, until a pass finds none.  One pass plus one per flipped layer.
    """
    flips: dict[str, ReluFlips] = {}
    while True:
        active = {layer: torch.from_numpy(patterns[layer]) for layer in flips}
        with torch.no_grad():
            trace = net.run(x, pool_argmax=pool_argmax, relu_active=active)
        rest = {layer: on for layer, on in patterns.items() if layer not in flips}
        found = find_flips(net, trace.blobs, rest)
        if not found:
            return flips
        first = next(iter(found))
        flips[first] = found[first]
