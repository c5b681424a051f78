"""Element-wise ("neuron") layers: one bottom, one top of the same shape, in place allowed.

Formulas are Caffe 1.0's (``src/caffe/layers/<name>_layer.cpp``); those that
are more than a torch call live in :mod:`port.ops.neuron`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def _elu(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """Caffe's ELU: ``x`` where ``x > 0``, else ``alpha (exp(x) - 1)``."""
    return F.elu(x, alpha=alpha)


NEURON_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "Sigmoid": torch.sigmoid,
    "TanH": torch.tanh,
    "AbsVal": torch.abs,
    "BNLL": bnll,
    "ELU": _elu,
    "Exp": exp_layer,
    "Log": log_layer,
    "Power": power_layer,
}


class Neuron(CaffeLayer):
    """A parameter-free element-wise layer: ``NEURON_FUNCTIONS[kind](x, **params)``."""

    def __init__(self, kind: str, **params: float):
        super().__init__()
        self.kind, self.params = kind, params

    def forward(self, bottoms: list[torch.Tensor]) -> list[torch.Tensor]:
        return [NEURON_FUNCTIONS[self.kind](bottoms[0], **self.params)]


def build_relu(ctx: BuildContext) -> Built:
    return same_shape(ReLU(ctx.lp.relu_param.negative_slope))(ctx)


def build_prelu(ctx: BuildContext) -> Built:
    (shape,) = ctx.bottoms(1)
    if len(shape) < 2:
        raise ctx.error(f"expects a bottom with a channel axis (at least 2-D), got shape {shape}")
    return same_shape(PReLU(shape[1], ctx.lp.prelu_param.channel_shared))(ctx)


def build_neuron(ctx: BuildContext) -> Built:
    """Any layer of :data:`NEURON_FUNCTIONS`, with the fields of its ``<type>_param`` message."""
    kind = ctx.lp.type
    p = {
        "ELU": lambda: {"alpha": ctx.lp.elu_param.alpha},
        "Exp": lambda: _base_scale_shift(ctx.lp.exp_param),
        "Log": lambda: _base_scale_shift(ctx.lp.log_param),
        "Power": lambda: {"power": ctx.lp.power_param.power, **_scale_shift(ctx.lp.power_param)},
    }.get(kind, dict)()
    try:
        NEURON_FUNCTIONS[kind](torch.ones(1), **p)
    except ValueError as exc:
        raise ctx.error(str(exc)) from None
    return same_shape(Neuron(kind, **p))(ctx)


def _scale_shift(p: Any) -> dict[str, float]:
    return {"scale": p.scale, "shift": p.shift}


def _base_scale_shift(p: Any) -> dict[str, float]:
    return {"base": p.base, **_scale_shift(p)}
