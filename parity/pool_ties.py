"""Max-pool near-ties: windows where Caffe and the port pick different maxima.

Caffe and PyTorch compute convolutions with different summation orders, so
two values of a pooling window that are equal up to rounding (~1e-6 relative)
can swap order.  Forward, the pooled value moves by that rounding; backward,
the whole gradient of the window goes to a different input, which can move
the data gradient by percents.  Caffe reports its choice in a pooling
layer's optional mask top (flat index ``h * W + w``), and the port reports
its own (``port.ops.max_pool``); comparing the two finds every such window.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class PoolTie:
    """One window whose argmax differs; values are the port's bottom blob at both picks."""

    layer: str
    n: int
    channel: int
    row: int
    col: int
    port_index: int
    legacy_index: int
    value_at_port_pick: float
    value_at_legacy_pick: float

    @property
    def gap(self) -> float:
        return abs(self.value_at_port_pick - self.value_at_legacy_pick)

    @property
    def relative_gap(self) -> float:
        scale = max(abs(self.value_at_port_pick), abs(self.value_at_legacy_pick))
        return self.gap / scale if scale else 0.0

    def as_dict(self) -> dict:
        return asdict(self) | {"gap": self.gap, "relative_gap": self.relative_gap}


def find_ties(layer: str, bottom: np.ndarray, port_argmax: np.ndarray, legacy_mask: np.ndarray) -> list[PoolTie]:
    """Windows of one MAX pooling layer whose port argmax differs from Caffe's mask.

    ``bottom`` is the port's (N, C, H, W) input to the layer; ``port_argmax``
    and ``legacy_mask`` are (N, C, H', W') flat indices into each plane
    (the mask as Caffe writes it, float).
    """
    legacy_index = legacy_mask.astype(np.int64)
    if legacy_index.shape != port_argmax.shape:
        raise ValueError(f"pool layer '{layer}': mask shape {legacy_mask.shape} != port argmax shape {port_argmax.shape}")
    planes = bottom.reshape(bottom.shape[0], bottom.shape[1], -1)
    ties = []
    for n, c, i, j in zip(*np.nonzero(legacy_index != port_argmax)):
        pi, li = int(port_argmax[n, c, i, j]), int(legacy_index[n, c, i, j])
        ties.append(PoolTie(layer, int(n), int(c), int(i), int(j), pi, li,
                            float(planes[n, c, pi]), float(planes[n, c, li])))
    return ties


def positive_windows(pooled: np.ndarray) -> int:
    """Windows whose maximum is positive: the ones through which a ReLU net's gradient flows."""
    return int(np.count_nonzero(pooled > 0))
