"""Octave presets: the paper's schedules as data (``presets.json``), typed."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

PRESETS_FILE = Path(__file__).with_name("presets.json")

Number = int | float


@dataclass(frozen=True)
class Octave:
    """One octave of the loop.  Numbers keep their JSON type (int or float): the legacy schedule depends on it."""

    layer: str | None
    scale: float | None
    iter_n: int
    margin: int
    window: float
    step: tuple[Number, Number]
    denoise: tuple[Number, Number]

    def as_dict(self) -> dict:
        return {
            "layer": self.layer,
            "scale": self.scale,
            "iter_n": self.iter_n,
            "margin": self.margin,
            "window": self.window,
            "step": list(self.step),
            "denoise": list(self.denoise),
        }


def _octave(entry: dict, where: str) -> Octave:
    try:
        octave = Octave(
            entry["layer"],
            entry["scale"],
            entry["iter_n"],
            entry["margin"],
            entry["window"],
            tuple(entry["step"]),
            tuple(entry["denoise"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{where}: octave entry {entry!r} is malformed ({exc})") from None
    if not isinstance(octave.iter_n, int) or octave.iter_n < 1 or len(octave.step) != 2 or len(octave.denoise) != 2:
        raise ValueError(f"{where}: octave entry {entry!r} needs iter_n >= 1 and two-number step and denoise")
    return octave


def load_presets(path: str | Path = PRESETS_FILE) -> dict[str, tuple[Octave, ...]]:
    """Every preset in a presets file, by name."""
    table = json.loads(Path(path).read_text())
    return {
        name: tuple(_octave(o, f"{path}:{name}") for o in spec["octaves"])
        for name, spec in table.items()
        if not name.startswith("_")
    }


def default_preset(net: str, path: str | Path = PRESETS_FILE) -> str:
    """The preset a network runs by default (``_network_defaults`` of the presets file; ``mean`` otherwise)."""
    return json.loads(Path(path).read_text())["_network_defaults"].get(net, "mean")


def preset(name: str, *, iterations_scale: float | None = None) -> tuple[Octave, ...]:
    """The named preset (``mean``, ``center``, ``six_octaves``); ``iterations_scale`` shortens it for quick runs.

    A shortened preset keeps each octave's schedule shape (the ramps run over
    the shortened ``iter_n``) and is not the paper's schedule.
    """
    presets = load_presets()
    if name not in presets:
        raise ValueError(f"unknown preset '{name}' (known: {', '.join(sorted(presets))})")
    octaves = presets[name]
    if iterations_scale is None:
        return octaves
    return tuple(replace(o, iter_n=max(2, round(o.iter_n * iterations_scale))) for o in octaves)
