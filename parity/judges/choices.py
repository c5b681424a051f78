"""The discrete choices of a forward pass - max-pool windows and ReLU units - and following another's.

Two computations of the same gradient part where they choose differently: a
max-pool window whose maximum is a near-tie resolved the other way, or a ReLU
unit whose input sits at zero.  :func:`differing_choices` lists where a
subject's forward pass chose otherwise than a reference's
(:class:`~parity.judges.pool_ties.PoolTie` s, and the flipped ReLU units per
layer), and :func:`gradient_through` recomputes the subject's input gradient
through the reference's choices (``port.caffe.input_gradient`` with forced pool
argmax and ReLU masks).  A method's step attribution excuses a gradient
difference only when that gradient comes back within tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from parity.judges.pool_ties import PoolTie, find_ties
from port.caffe import CaffeNetwork, Target, input_gradient


@dataclass(frozen=True)
class Choices:
    """The discrete choices of one forward pass on one crop, by layer name: each MAX pooling layer's
    argmax (1, C, H', W') int64 and each ReLU layer's on/off pattern (bool)."""

    pool_argmax: dict[str, np.ndarray]
    relu_active: dict[str, np.ndarray]


def port_choices(net: CaffeNetwork, crops: torch.Tensor, layer: str, n: int = 0) -> Choices:
    """The port's discrete choices for crop ``n`` of a forward pass of ``crops`` up to ``layer``."""
    with torch.no_grad():
        trace = net.run(crops, end=layer)
    pools = {name: argmax[n : n + 1].cpu().numpy() for name, argmax in trace.pool_argmax.items()}
    relus = {}
    for step in net.steps:
        if step.type == "ReLU":
            relus[step.name] = (trace.blobs[step.tops[0]][n : n + 1] > 0).cpu().numpy()
        if step.name == layer:
            break
    return Choices(pools, relus)


def differing_choices(
    net: CaffeNetwork, crop: torch.Tensor, layer: str, reference: Choices
) -> tuple[list[PoolTie], list[dict]]:
    """Where ``net``'s forward pass of ``crop`` (1, C, H, W) up to ``layer`` chose otherwise than ``reference``:
    the pool windows (with their near-tie figures) and, per ReLU layer, the units flipped (count, and the
    largest |value| of the subject's output among them)."""
    with torch.no_grad():
        trace = net.run(crop, end=layer)
    ties: list[PoolTie] = []
    for name, argmax in trace.pool_argmax.items():
        if name in reference.pool_argmax:
            bottom = trace.blobs[net.step(name).bottoms[0]].cpu().numpy()
            ties += find_ties(name, bottom, None, argmax.cpu().numpy(), reference.pool_argmax[name])
    flips = []
    for name, legacy_on in reference.relu_active.items():
        port_out = trace.blobs[net.step(name).tops[0]]
        flipped = (port_out > 0).cpu() != torch.from_numpy(legacy_on)
        if bool(flipped.any()):
            flips.append(
                {
                    "layer": name,
                    "units": int(flipped.sum()),
                    "max_abs_value": float(port_out.cpu()[flipped].abs().max()),
                }
            )
    return ties, flips


def gradient_through(net: CaffeNetwork, crop: torch.Tensor, target: Target, reference: Choices) -> torch.Tensor:
    """``net``'s input gradient of ``target`` at ``crop`` with every pool window and ReLU unit chosen as
    ``reference`` chose them."""
    device = crop.device
    return input_gradient(
        net,
        crop,
        target,
        pool_argmax={k: torch.from_numpy(v.astype(np.int64)).to(device) for k, v in reference.pool_argmax.items()},
        relu_active={k: torch.from_numpy(v).to(device) for k, v in reference.relu_active.items()},
    )
