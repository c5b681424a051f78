"""Run one neuron's facets on each network, batched per network, and measure the results."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from port.gallery.measures import ImageMeasures, measure, penultimate_diversity
from port.imaging import load_rgb
from port.mfv.backends import LoopOps
from port.mfv.loop import MFVConfig, MFVRun, run_mfv
from port.mfv.model import VisModel
from port.mfv.presets import Octave
from port.targets import Target, check_target


@dataclass
class NetGallery:
    """One network's runs: every facet's start, run and measures, the facets' diversity and the timing."""

    net: str
    weights: str
    preset: str
    target: str
    starts: list[np.ndarray]
    runs: list[MFVRun]
    measures: list[ImageMeasures]
    diversity: float
    relative_diversity: float
    start_diversity: float
    seconds: float
    iterations: int

    @property
    def seconds_per_iteration(self) -> float:
        """Wall time of the batched loop over its iterations (all facets stepped together)."""
        return self.seconds / max(self.iterations, 1)


def facet_images(model: VisModel, paths: Sequence[Path]) -> list[np.ndarray]:
    """The facets' mean images at the net's input size (PIL bilinear, ``port.imaging.load_rgb``)."""
    return [load_rgb(path, model.input_size) for path in paths]


def run_net(
    name: str,
    model: VisModel,
    unit: int,
    start_paths: Sequence[Path],
    preset_name: str,
    octaves: tuple[Octave, ...],
    seed: int,
    ops: LoopOps,
    *,
    legacy: bool = True,
    progress: bool = True,
) -> NetGallery:
    """Every facet of ``start_paths`` as a start, one batch through ``model``, target ``class_layer:unit``."""
    target = Target(model.class_layer, unit)
    check_target(model.layer_shapes(), target, model.source, {"layer": "--unit", "unit": "--unit", "position": ""})
    starts = facet_images(model, start_paths)
    began = time.perf_counter()
    runs = run_mfv(model, MFVConfig(target, octaves, legacy), [seed] * len(starts), starts, ops=ops, progress=progress)
    seconds = time.perf_counter() - began
    finals = [run.image for run in runs]
    div, relative = penultimate_diversity(model, finals)
    _, start_relative = penultimate_diversity(model, starts)
    return NetGallery(
        name,
        model.weights_description,
        preset_name,
        str(target),
        starts,
        runs,
        measure(model, unit, finals, starts),
        div,
        relative,
        start_relative,
        seconds,
        max(len(run.trace) for run in runs),
    )
