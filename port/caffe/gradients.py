"""Caffe-style backward passes: the diff of every blob from a one-hot at a layer.

pycaffe's recipe (``net.blobs[L].diff[...] = onehot; net.backward(start=L)``)
starts backward at layer ``L`` with the one-hot placed on ``L``'s top as ``L``
wrote it, so a conv target sees the convolution output *before* its in-place
ReLU.  ``one_hot_diffs`` computes the same diffs with autograd: the gradient
of ``top_L[0, unit(, y, x)]`` with respect to each blob's first producer's
output, which is what Caffe leaves in an in-place blob's diff.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import torch

from port.caffe.network import CaffeNetwork
from port.targets import Target


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
