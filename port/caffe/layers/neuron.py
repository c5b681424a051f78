"""Element-wise ("neuron") layers: one bottom, one top of the same shape, in place allowed.

Formulas are Caffe 1.0's (``src/caffe/layers/<name>_layer.cpp``); those that
are more than a torch call live in :mod:`port.ops.neuron`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from port.caffe.layers.base import BuildContext, Built, CaffeLayer, blob_parameters, same_shape
from port.ops.neuron import bnll, exp_layer, log_layer, power_layer


class ReLU(CaffeLayer):
    """``max(x, 0) + slope * min(x, 0)``; the gradient at 0 is ``slope``, as Caffe's ``x > 0`` test gives."""

    def __init__(self, negative_slope: float):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.negative_slope == 0.0:
            return [F.relu(bottoms[0])]
        return [F.leaky_relu(bottoms[0], self.negative_slope)]

    def forced(self, x: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """The ReLU with a given on/off pattern (e.g. another implementation's, across a sign near-tie)."""
        return torch.where(active, x, x * self.negative_slope)


class PReLU(CaffeLayer):
    """``x`` where ``x > 0``, else ``a_c x``: one learned slope per channel (axis 1), or one 0-D slope for all.

    The gradient at 0 is the slope, as Caffe's ``x > 0`` test gives.
    """

    def __init__(self, channels: int, shared: bool):
        super().__init__()
        blob_parameters(self, [() if shared else (channels,)])
        self.shared = shared

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        x = bottoms[0]
        slope = self.weight if self.shared else self.weight.reshape(1, -1, *([1] * (x.ndim - 2)))
        return [torch.where(x > 0, x, x * slope)]


class Neuron(CaffeLayer):
    """A parameter-free element-wise layer computing ``function(x)``."""

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.function = function

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [self.function(bottoms[0])]


def build_relu(ctx: BuildContext) -> Built:
    return same_shape(ReLU(ctx.lp.relu_param.negative_slope))(ctx)


def build_prelu(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    if len(shape) < 2:
        raise ctx.error(f"expects a bottom with a channel axis (at least 2-D), got shape {shape}")
    return same_shape(PReLU(shape[1], ctx.lp.prelu_param.channel_shared))(ctx)


def build_elu(ctx: BuildContext) -> Built:
    """Caffe's ELU: ``x`` where ``x > 0``, else ``alpha (exp(x) - 1)``."""
    return same_shape(Neuron(functools.partial(F.elu, alpha=ctx.lp.elu_param.alpha)))(ctx)


def _checked(ctx: BuildContext, function: Callable[..., torch.Tensor], **kwargs: float) -> Neuron:
    try:
        function(torch.ones(1), **kwargs)
    except ValueError as exc:
        raise ctx.error(str(exc)) from None
    return Neuron(functools.partial(function, **kwargs))


def build_exp(ctx: BuildContext) -> Built:
    p = ctx.lp.exp_param
    return same_shape(_checked(ctx, exp_layer, base=p.base, scale=p.scale, shift=p.shift))(ctx)


def build_log(ctx: BuildContext) -> Built:
    p = ctx.lp.log_param
    return same_shape(_checked(ctx, log_layer, base=p.base, scale=p.scale, shift=p.shift))(ctx)


def build_power(ctx: BuildContext) -> Built:
    p = ctx.lp.power_param
    return same_shape(Neuron(functools.partial(power_layer, power=p.power, scale=p.scale, shift=p.shift)))(ctx)


def _plain(function: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[BuildContext], Built]:
    def build(ctx: BuildContext) -> Built:
        return same_shape(Neuron(function))(ctx)

    return build


build_sigmoid = _plain(torch.sigmoid)
build_tanh = _plain(torch.tanh)
build_absval = _plain(torch.abs)
build_bnll = _plain(bnll)
