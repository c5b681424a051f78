"""What the MFV loop aims at, for any network: a unit of a layer's (or module's) output, and the check
that it exists.

A target names a layer of a Caffe net or a module path of a PyTorch model
(``features.10``, ``layer4.2.conv3``) and a unit; spatial outputs (N, C, H,
W) also take a position (y, x).  :class:`LayerShape` is one targetable
output as ``mfv layers`` lists it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TARGET_FLAGS = {"layer": "--target", "unit": "--target", "position": "--target"}


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


@dataclass(frozen=True)
class LayerShape:
    """One targetable output: its name (Caffe layer or module path) and its shape, batch dimension first."""

    name: str
    shape: tuple[int, ...]

    @property
    def spatial(self) -> bool:
        return len(self.shape) == 4


def check_target(
    layers: Sequence[LayerShape], target: Target, source: str, flags: Mapping[str, str] = TARGET_FLAGS
) -> None:
    """Raise ``ValueError`` naming the flag (``flags[field]``) and the valid range unless ``target`` fits.

    A 2-D output (N, C) takes a unit in 0..C-1 (a position is ignored, as the
    MFV loop ignores it); a 4-D output (N, C, H, W) takes a unit and a
    position (y, x) in 0..H-1, 0..W-1.
    """
    shapes = {layer.name: layer.shape for layer in layers}
    if target.layer not in shapes:
        raise ValueError(f"{flags['layer']} {target.layer!r}: no such layer in {source}; layers: {', '.join(shapes)}")
    shape = shapes[target.layer]
    channels = shape[1]
    if not 0 <= target.unit < channels:
        raise ValueError(f"{flags['unit']} {target.unit}: layer {target.layer!r} has units 0..{channels - 1}")
    if len(shape) == 2:
        return
    if len(shape) != 4:
        raise ValueError(f"layer {target.layer!r}: its top has shape {shape}; targets need a 2-D or 4-D top")
    height, width = shape[2:]
    if target.y is None or target.x is None:
        raise ValueError(f"{flags['position']}: layer {target.layer!r} is spatial; give a position in 0..{height - 1}")
    if not (0 <= target.y < height and 0 <= target.x < width):
        raise ValueError(
            f"{flags['position']}: position ({target.y}, {target.x}) is outside layer {target.layer!r}, "
            f"which has rows 0..{height - 1} and columns 0..{width - 1}"
        )
