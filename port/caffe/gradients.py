"""Caffe-style backward passes: the diff of every blob from a one-hot at a layer.

pycaffe's recipe (``net.blobs[L].diff[...] = onehot; net.backward(start=L)``)
starts backward at layer ``L`` with the one-hot placed on ``L``'s top as ``L``
wrote it, so a conv target sees the convolution output *before* its in-place
ReLU.  ``one_hot_diffs`` computes the same diffs with autograd: the gradient
of ``top_L[0, unit(, y, x)]`` with respect to each blob's first producer's
output, which is what Caffe leaves in an in-place blob's diff.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from port.caffe.network import CaffeNetwork


@dataclass(frozen=True)
class Target:
    """A unit of a layer's top blob: ``(unit)`` for 2-D tops, ``(unit, y, x)`` for 4-D tops."""

    layer: str
    unit: int
    y: int | None = None
    x: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Target":
        """``"fc8:945"`` or ``"conv5:12:6:6"`` (layer:unit[:y:x])."""
        match = re.fullmatch(r"([^:]+):(\d+)(?::(\d+):(\d+))?", text)
        if not match:
            raise ValueError(f"target '{text}' is not LAYER:UNIT or LAYER:UNIT:Y:X")
        layer, unit, y, x = match.groups()
        return cls(layer, int(unit), None if y is None else int(y), None if x is None else int(x))

    def index(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Index of the unit in the first item of a batch of blobs shaped ``shape``."""
        spatial = () if self.y is None else (self.y, self.x)
        index = (0, self.unit, *spatial)
        if len(index) != len(shape) or any(i >= n for i, n in zip(index, shape)):
            raise ValueError(f"target {self} does not index a blob of shape {shape}")
        return index

    def __str__(self) -> str:
        return ":".join(str(v) for v in (self.layer, self.unit, self.y, self.x) if v is not None)


def one_hot_diffs(
    net: CaffeNetwork,
    inputs: torch.Tensor | Mapping[str, torch.Tensor],
    target: Target,
    *,
    pool_argmax: Mapping[str, torch.Tensor] | None = None,
    relu_active: Mapping[str, torch.Tensor] | None = None,
) -> OrderedDict[str, torch.Tensor]:
    """Diffs of every blob produced up to ``target.layer``, inputs included, by Caffe name.

    ``pool_argmax`` and ``relu_active`` go to ``CaffeNetwork.run``.
    """
    step = net.step(target.layer)
    if isinstance(inputs, torch.Tensor):
        inputs = {next(iter(net.inputs)): inputs}
    leaves = {name: t.detach().clone().requires_grad_(True) for name, t in inputs.items()}
    with torch.enable_grad():
        trace = net.run(leaves, end=target.layer, pool_argmax=pool_argmax, relu_active=relu_active)
        top = trace.blobs[step.tops[0]]
        names = [name for name, t in trace.produced.items() if t.requires_grad]
        grads = torch.autograd.grad(
            top[target.index(tuple(top.shape))], [trace.produced[n] for n in names], allow_unused=True
        )
    return OrderedDict(
        (name, torch.zeros_like(trace.produced[name]) if g is None else g) for name, g in zip(names, grads)
    )


def input_gradient(
    net: CaffeNetwork,
    x: torch.Tensor,
    target: Target,
    *,
    pool_argmax: Mapping[str, torch.Tensor] | None = None,
    relu_active: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The data diff alone of a one-hot at ``target`` (``one_hot_diffs(...)[input]``, without the other blobs).

    ``net`` must have a single input blob; this is the gradient step of the
    MFV loop.  ``pool_argmax`` and ``relu_active`` go to ``CaffeNetwork.run``.
    """
    step = net.step(target.layer)
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        top = net.run(leaf, end=target.layer, pool_argmax=pool_argmax, relu_active=relu_active).blobs[step.tops[0]]
        (grad,) = torch.autograd.grad(top[target.index(tuple(top.shape))], leaf)
    return grad
