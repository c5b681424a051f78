"""Caffe 1.0's BatchNorm (``batch_norm_layer.cpp``) with global statistics, as deploy nets run it.

Caffe stores three blobs: running sums of the mean ``m`` and of the variance
``v`` (each of shape ``(C,)``) and their common scale factor ``f`` (shape
``(1,)``, the sum of the moving-average weights).  With global statistics
(the default in the TEST phase, and what deploy nets use)

    s = 0 if f == 0 else 1 / f          (in float32)
    y = (x - m s) / sqrt(v s + eps)     per channel (axis 1)

Every step is a float32 operation in Caffe's order, so the forward values
are Caffe's; gradients come from autograd (``dy / sqrt(v s + eps)``, as
Caffe's backward).
"""

from __future__ import annotations

import torch


def _per_channel(values: torch.Tensor, ndim: int) -> torch.Tensor:
    return values.reshape(1, -1, *([1] * (ndim - 2)))


def batch_norm_global(
    x: torch.Tensor, mean_sum: torch.Tensor, var_sum: torch.Tensor, factor: torch.Tensor, eps: float
) -> torch.Tensor:
    """``(x - m s) / sqrt(v s + eps)`` with ``s = 1 / f`` (0 when ``f`` is 0), channels on axis 1."""
    f = factor.reshape(())
    s = torch.where(f == 0, torch.zeros_like(f), torch.ones_like(f) / torch.where(f == 0, torch.ones_like(f), f))
    mean = _per_channel(mean_sum * s, x.ndim)
    std = _per_channel((var_sum * s + eps).sqrt(), x.ndim)
    return (x - mean) / std
