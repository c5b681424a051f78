"""Targets checked against the net before a run: the layer exists, the unit and position are in range."""

from __future__ import annotations

from collections.abc import Mapping

from port.caffe.gradients import Target
from port.caffe.network import CaffeNetwork

TARGET_FLAGS = {"layer": "--target", "unit": "--target", "position": "--target"}


def check_target(net: CaffeNetwork, target: Target, flags: Mapping[str, str] = TARGET_FLAGS) -> None:
    """Raise ``ValueError`` naming the flag (``flags[field]``) and the valid range unless ``target`` fits ``net``.

    A 2-D top (N, C) takes a unit in 0..C-1 (a position is ignored, as the
    MFV loop ignores it); a 4-D top (N, C, H, W) takes a unit and a position
    (y, x) in 0..H-1, 0..W-1.
    """
    names = [step.name for step in net.steps]
    if target.layer not in names:
        raise ValueError(
            f"{flags['layer']} {target.layer!r}: no such layer in {net.source}; layers: {', '.join(names)}"
        )
    shape = net.blob_shapes[net.step(target.layer).tops[0]]
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
