"""Caffe 1.0's element-wise neuron layers that are more than one torch call, exactly as Caffe defines them.

References are Caffe 1.0's ``src/caffe/layers/*_layer.cpp``; gradients come
from autograd on the same expressions, the derivatives Caffe's hand-written
backward passes compute.

* BNLL (``bnll_layer.cpp``): ``y = x + log(1 + exp(-x))`` for ``x > 0``,
  ``log(1 + exp(x))`` otherwise, written here as the one expression
  ``max(x, 0) + log(1 + exp(-|x|))``.  Its derivative at exactly ``x = 0``
  is 0 here, 1/2 in Caffe.
* Exp (``exp_layer.cpp``): ``y = base^(shift + scale x)``, computed as Caffe
  does, ``outer * exp(inner * x)`` with ``inner = ln(base) * scale`` and
  ``outer = base^shift`` (``ln(base) = 1`` and ``outer = e^shift`` for the
  default ``base = -1``, meaning e; ``outer = 1`` when ``shift = 0``).
* Log (``log_layer.cpp``): ``y = log_base(shift + scale x)`` =
  ``ln(shift + scale x) / ln(base)`` (natural log for ``base = -1``).
* Power (``power_layer.cpp``): ``y = (shift + scale x)^power``.
"""

from __future__ import annotations

import math

import torch

NATURAL_BASE = -1.0


def _check_base(base: float) -> None:
    if base != NATURAL_BASE and base <= 0:
        raise ValueError(f"base must be strictly positive (or -1 for e), got {base} (Caffe's rule)")


def bnll(x: torch.Tensor) -> torch.Tensor:
    """``max(x, 0) + log(1 + exp(-|x|))``: Caffe's BNLL, without overflow on either side."""
    return torch.relu(x) + torch.log(1.0 + torch.exp(-x.abs()))


def exp_layer(x: torch.Tensor, base: float, scale: float, shift: float) -> torch.Tensor:
    """``outer * exp(inner * x)`` with Caffe's ``inner`` and ``outer`` (module docstring)."""
    _check_base(base)
    log_base = 1.0 if base == NATURAL_BASE else math.log(base)
    inner = log_base * scale
    if shift == 0:
        outer = 1.0
    else:
        outer = math.exp(shift) if base == NATURAL_BASE else base**shift
    y = torch.exp(x * inner) if inner != 1 else torch.exp(x)
    return y * outer if outer != 1 else y


def log_layer(x: torch.Tensor, base: float, scale: float, shift: float) -> torch.Tensor:
    """``ln(shift + scale x) / ln(base)``, Caffe's Log layer (natural log for ``base = -1``)."""
    _check_base(base)
    inner = x if (scale, shift) == (1, 0) else x * scale + shift
    y = torch.log(inner)
    return y if base == NATURAL_BASE else y * (1.0 / math.log(base))


def power_layer(x: torch.Tensor, power: float, scale: float, shift: float) -> torch.Tensor:
    """``(shift + scale x)^power``, Caffe's Power layer."""
    inner = x if (scale, shift) == (1, 0) else x * scale + shift
    return inner if power == 1 else inner.pow(power)
