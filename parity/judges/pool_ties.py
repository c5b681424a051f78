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
    """One window whose argmax differs.

    ``port_values`` and ``legacy_values`` are each stack's pooling input at
    (the port's pick, Caffe's pick): in a near-tie each stack's own pick is
    its larger value, and the two values agree to rounding.  ``blob_max``
    is ``max |x|`` over the port's whole pooling input, the scale that the
    forward tolerance (``max_rel``, ``tolerances.json``) is relative to.
    """

    layer: str
    n: int
    channel: int
    row: int
    col: int
    port_index: int
    legacy_index: int
    port_values: tuple[float, float]
    legacy_values: tuple[float, float] | None
    blob_max: float

    @property
    def gap(self) -> float:
        """Largest gap between the two picks in either stack."""
        pairs = [self.port_values] + ([self.legacy_values] if self.legacy_values else [])
        return max(abs(a - b) for a, b in pairs)

    @property
    def relative_gap(self) -> float:
        """:attr:`gap` relative to the values."""
        scale = max(abs(v) for v in self.port_values + (self.legacy_values or ()))
        return self.gap / scale if scale else 0.0

    @property
    def blob_relative_gap(self) -> float:
        """:attr:`gap` relative to :attr:`blob_max`.  Two values swap order between the stacks only
        if one of them moves by half their gap, so forward parity within ``max_rel`` bounds this
        by ``2 max_rel``."""
        return self.gap / self.blob_max if self.blob_max else 0.0

    def as_dict(self) -> dict:
        return asdict(self) | {"relative_gap": self.relative_gap, "blob_relative_gap": self.blob_relative_gap}


def find_ties(
    layer: str,
    port_bottom: np.ndarray,
    legacy_bottom: np.ndarray | None,
    port_argmax: np.ndarray,
    legacy_mask: np.ndarray,
) -> list[PoolTie]:
    """Windows of one MAX pooling layer whose port argmax differs from Caffe's mask.

    ``port_bottom`` and ``legacy_bottom`` are each stack's (N, C, H, W) input
    to the layer (the legacy one may be unknown: None); ``port_argmax`` and
    ``legacy_mask`` are (N, C, H', W') flat indices into each plane (the
    mask as Caffe writes it, float).
    """
    legacy_index = legacy_mask.astype(np.int64)
    if legacy_index.shape != port_argmax.shape:
        raise ValueError(
            f"pool layer '{layer}': mask shape {legacy_mask.shape} != port argmax shape {port_argmax.shape}"
        )
    port_planes = port_bottom.reshape(port_bottom.shape[0], port_bottom.shape[1], -1)
    legacy_planes = None if legacy_bottom is None else legacy_bottom.reshape(port_planes.shape)
    ties = []
    blob_max = float(np.abs(port_bottom).max(initial=0.0))
    for n, c, i, j in zip(*np.nonzero(legacy_index != port_argmax)):
        picks = [int(port_argmax[n, c, i, j]), int(legacy_index[n, c, i, j])]
        legacy_values = None if legacy_planes is None else tuple(float(legacy_planes[n, c, p]) for p in picks)
        ties.append(
            PoolTie(
                layer,
                int(n),
                int(c),
                int(i),
                int(j),
                *picks,
                port_values=tuple(float(port_planes[n, c, p]) for p in picks),
                legacy_values=legacy_values,
                blob_max=blob_max,
            )
        )
    return ties


def positive_windows(pooled: np.ndarray) -> int:
    """Windows whose maximum is positive: the ones through which a ReLU net's gradient flows."""
    return int(np.count_nonzero(pooled > 0))
