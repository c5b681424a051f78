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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from parity.legacy_results import LayersDump
from port.caffe import CaffeNetwork

IDENTITY_AT_TEST = ("Dropout",)


@dataclass(frozen=True)
class ReluFlips:
    """One ReLU layer: how many units it switches otherwise than Caffe, and the largest port input among them."""

    units: int
    max_abs_value: float

    def as_dict(self) -> dict:
        return asdict(self)


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
            flips[name] = ReluFlips(int(flipped.sum()), float(np.abs(port_out[flipped]).max()))
    return flips
