"""Parity level 4, lockstep: at every step of a run both stacks step the same crop.

The port runs the whole loop; at each zoom and each step an observer sends
the port's input (the image before the zoom, the crop before the step) to a
long-lived pycaffe worker (``legacy_caffe.mfv_worker``), which keeps the
reference loop's own random stream and schedules.  Per step the two stacks'
crop offsets and schedules must be identical, and the gradient, the
stepped, clipped and denoised crops are compared: error without
accumulation.

The worker cuts its crop from the port's image at its own offsets and
writes its result back as the reference loop does: the two crops must be
the same bits, and the port's image after its write-back may differ from
Caffe's only by the step's denoised difference (a crop cut or written back
at the wrong place fails the step).

Each step is judged by :mod:`parity.attribution` with Caffe as the
reference: it passes when every stage agrees within tolerance, and is
otherwise attributed - to max-pool near-ties or ReLU sign flips (the port,
made to follow Caffe's pooling masks and ReLU pattern, must agree again,
and so must its own step and denoiser from there), or to the denoiser's
stopping rule (the port's own step reproduces Caffe's stepped and clipped
crops, its denoiser on Caffe's clipped crop reproduces Caffe's denoised
crop, and split Bregman stops after a different number of iterations on
the two inputs) - or fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from parity.attribution import Choices, Judgement, Stages, StepInputs, StepTolerances, judge_step
from parity.compare import bitwise_equal, figures
from parity.stacks import LegacyWorker
from parity.verdict import FAIL
from port.caffe import CaffeNetwork
from port.mfv.backends import LoopOps
from port.mfv.loop import StepContext
from port.mfv.presets import Octave
from port.mfv.step import StepRecord, StepStages


@dataclass(frozen=True)
class LockstepTolerances:
    step: StepTolerances
    zoom_abs: float

    @classmethod
    def from_table(cls, table: dict) -> "LockstepTolerances":
        entry = table["lockstep"]
        return cls(StepTolerances.from_entry(entry), entry["zoom_abs"])


@dataclass(frozen=True)
class ZoomCheck:
    """One octave's zoom: the port's zoomed image against the worker's."""

    octave: int
    scale: float
    shape: list[int]
    max_abs: float
    passed: bool

    def as_dict(self) -> dict:
        return {"octave": self.octave, "scale": self.scale, "shape": self.shape, "max_abs": self.max_abs} | {
            "pass": self.passed
        }


@dataclass
class StepComparison:
    """One step compared: where both stacks were, and the judgement of its stages."""

    iteration: int
    octave: int
    i: int
    port_offsets: tuple[int, int]
    legacy_offsets: tuple[int, int]
    port_schedule: tuple[float, float]
    legacy_schedule: tuple[float, float]
    best_unit: tuple[int, int]
    target_act: tuple[float, float]
    crop_equal: bool
    written_abs: float
    judgement: Judgement

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    def as_dict(self) -> dict:
        row = {k: v for k, v in self.__dict__.items() if k != "judgement"}
        return row | self.judgement.as_dict()


class LockstepObserver:
    """Feeds each zoom input and each crop to the legacy worker and judges the answers."""

    def __init__(
        self, net: CaffeNetwork, octaves: Sequence[Octave], worker: LegacyWorker, ops: LoopOps, tol: LockstepTolerances
    ):
        self.net, self.octaves, self.worker, self.ops, self.tol = net, tuple(octaves), worker, ops, tol
        self.legacy = True
        self.steps: list[StepComparison] = []
        self.zooms: list[ZoomCheck] = []

    def on_zoom(self, octave_index: int, before: torch.Tensor, after: torch.Tensor) -> None:
        scale = self.octaves[octave_index].scale
        _, arrays = self.worker.request({"op": "zoom", "scale": scale}, {"image": before[0].cpu().numpy()})
        fig = figures(arrays["zoomed"], after[0].cpu().numpy(), f"zoom of octave {octave_index + 1}")
        self.zooms.append(
            ZoomCheck(octave_index, scale, list(after.shape[2:]), fig.max_abs, fig.max_abs <= self.tol.zoom_abs)
        )

    def before_step(self, context: StepContext, crops: torch.Tensor) -> None:
        """Send the image first, so that Caffe steps its crop while the port does."""
        if crops.shape[0] != 1:
            raise ValueError("lockstep parity follows one run at a time")
        self.worker.send(
            {"op": "step", "octave": context.octave_index, "i": context.i},
            {"image": context.images[context.runs[0]].cpu().numpy()},
        )

    def on_step(self, context: StepContext, crops: torch.Tensor, stages: StepStages, records: list[StepRecord]) -> None:
        header, legacy = self.worker.receive()
        inputs = StepInputs(
            self.net,
            crops[:1],
            context.target,
            self.octaves[context.octave_index].margin,
            context.step_size,
            context.denoise_weight,
            self.ops,
            self.legacy,
        )
        reference = Stages(*(legacy[name] for name in ("gradient", "stepped", "clipped", "denoised")))
        judgement = judge_step(
            inputs, reference, Stages.of(stages, 0), lambda: self._caffe_choices(context, legacy), self.tol.step
        )
        row = StepComparison(
            context.iteration,
            context.octave_index,
            context.i,
            context.offsets[0],
            (header["ox"], header["oy"]),
            (context.step_size, context.denoise_weight),
            (header["step_size"], header["denoise_weight"]),
            (records[0].best_unit, header["best_unit"]),
            (records[0].target_act, header["target_act"]),
            bitwise_equal(legacy["crop"], crops[0].cpu().numpy()),
            figures(legacy["written"], context.images[context.runs[0]].cpu().numpy(), "written image").max_abs,
            judgement,
        )
        if (
            row.port_offsets != row.legacy_offsets
            or row.port_schedule != row.legacy_schedule
            or not row.crop_equal
            or row.written_abs > judgement.denoised_abs
        ):
            judgement.verdict = FAIL
        self.steps.append(row)

    def _caffe_choices(self, context: StepContext, legacy: dict[str, np.ndarray]) -> Choices:
        """Caffe's pooling masks for this crop (sent with the step) and its ReLU pattern (asked for)."""
        masks = {key.split("/", 1)[1]: value for key, value in legacy.items() if key.startswith("mask/")}
        _, relu = self.worker.request({"op": "relu_outputs", "layer": context.target.layer})
        return Choices(masks, {name: out > 0 for name, out in relu.items()})
