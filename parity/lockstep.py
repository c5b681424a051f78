"""Parity level 4, lockstep: at every step of a run both stacks step the same crop.

The port runs the whole loop; at each zoom and each step an observer sends
the port's input (the image before the zoom, the crop before the step) to a
long-lived pycaffe worker (``legacy_caffe.mfv_worker``), which keeps the
reference loop's own random stream and schedules.  Per step the two stacks'
crop offsets and schedules must be identical, and the gradient, the
stepped, clipped and denoised crops are compared: error without
accumulation.

A step whose denoised crop differs by more than the tolerance is
attributed to

* discrete near-ties in the gradient (``pool-tie``, ``relu-sign`` or both,
  joined by ``+``): when the gradients differ, the worker reports Caffe's
  pooling masks and ReLU outputs for this crop; the windows whose argmax
  differs from the port's and the units whose ReLU is on in one stack and
  off in the other are listed, and the port's gradient recomputed through
  Caffe's choices must come back within the gradient tolerance;
* the denoiser's stopping rule (``denoiser``): the gradients agree, the
  port's denoiser applied to Caffe's clipped crop reproduces Caffe's
  denoised crop, so the two denoisers are one function and the difference
  is a rounding-level input difference amplified by the point at which
  split Bregman stops;

and is a failure otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from parity.compare import figures
from parity.pool_ties import PoolTie, find_ties
from parity.stacks import LegacyWorker
from port.caffe import CaffeNetwork, input_gradient
from port.mfv.backends import LoopOps
from port.mfv.loop import StepContext
from port.mfv.presets import Octave
from port.mfv.step import StepRecord, StepStages, from_rgb64, mask_margin, to_rgb64

PASS, POOL_TIE, RELU_SIGN, DENOISER, FAIL = "pass", "pool-tie", "relu-sign", "denoiser", "fail"


@dataclass(frozen=True)
class LockstepTolerances:
    denoised_abs: float
    gradient_rel: float
    zoom_abs: float
    same_denoiser_abs: float

    @classmethod
    def from_table(cls, table: dict) -> "LockstepTolerances":
        entry = table["lockstep"]
        return cls(entry["denoised_abs"], entry["gradient_rel"], entry["zoom_abs"], entry["same_denoiser_abs"])


@dataclass
class StepComparison:
    """One step compared; *_abs figures are in grey levels."""

    iteration: int
    octave: int
    i: int
    port_offsets: tuple[int, int]
    legacy_offsets: tuple[int, int]
    port_schedule: tuple[float, float]
    legacy_schedule: tuple[float, float]
    best_unit: tuple[int, int]
    target_act: tuple[float, float]
    gradient_rel: float
    stepped_abs: float
    clipped_abs: float
    denoised_abs: float
    ties: list[PoolTie] = field(default_factory=list)
    relu_flips: list[dict] = field(default_factory=list)
    gradient_rel_forced: float | None = None
    same_denoiser_abs: float | None = None
    verdict: str = PASS

    def as_dict(self) -> dict:
        row = {k: v for k, v in self.__dict__.items() if k != "ties"}
        row["ties"] = [t.as_dict() for t in self.ties]
        return row


class LockstepObserver:
    """Feeds each zoom input and each crop to the legacy worker and compares the answers."""

    def __init__(
        self, net: CaffeNetwork, octaves: Sequence[Octave], worker: LegacyWorker, ops: LoopOps, tol: LockstepTolerances
    ):
        self.net, self.octaves, self.worker, self.ops, self.tol = net, tuple(octaves), worker, ops, tol
        self.steps: list[StepComparison] = []
        self.zooms: list[dict] = []

    def on_zoom(self, octave_index: int, before: torch.Tensor, after: torch.Tensor) -> None:
        scale = self.octaves[octave_index].scale
        _, arrays = self.worker.request({"op": "zoom", "scale": scale}, {"image": before[0].cpu().numpy()})
        fig = figures(arrays["zoomed"], after[0].cpu().numpy(), f"zoom of octave {octave_index + 1}")
        self.zooms.append(
            {
                "octave": octave_index,
                "scale": scale,
                "shape": list(after.shape[2:]),
                "max_abs": fig.max_abs,
                "pass": fig.max_abs <= self.tol.zoom_abs,
            }
        )

    def before_step(self, context: StepContext, crops: torch.Tensor) -> None:
        """Send the crop first, so that Caffe steps it while the port does."""
        if crops.shape[0] != 1:
            raise ValueError("lockstep parity follows one run at a time")
        self.worker.send(
            {"op": "step", "octave": context.octave_index, "i": context.i, "image_shape": list(context.image_shape)},
            {"crop": crops[0].cpu().numpy()},
        )

    def on_step(self, context: StepContext, crops: torch.Tensor, stages: StepStages, records: list[StepRecord]) -> None:
        crop = crops[:1]
        header, legacy = self.worker.receive()
        port = {name: getattr(stages, name)[0].cpu().numpy() for name in ("gradient", "stepped", "clipped", "denoised")}
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
            figures(legacy["gradient"], port["gradient"], "gradient").max_rel,
            *(figures(legacy[k], port[k], k).max_abs for k in ("stepped", "clipped", "denoised")),
        )
        if row.port_offsets != row.legacy_offsets or row.port_schedule != row.legacy_schedule:
            row.verdict = FAIL
        elif row.denoised_abs > self.tol.denoised_abs:
            row.verdict = self._attribute(row, context, crop, legacy)
        self.steps.append(row)

    def _attribute(
        self, row: StepComparison, context: StepContext, crop: torch.Tensor, legacy: dict[str, np.ndarray]
    ) -> str:
        if row.gradient_rel > self.tol.gradient_rel:
            return self._attribute_gradient(row, context, crop, legacy)
        clipped = torch.from_numpy(legacy["clipped"])[None]
        again = from_rgb64(self.ops.denoise(to_rgb64(clipped), [context.denoise_weight]))[0].numpy()
        row.same_denoiser_abs = figures(legacy["denoised"], again, "denoised").max_abs
        return DENOISER if row.same_denoiser_abs <= self.tol.same_denoiser_abs else FAIL

    def _attribute_gradient(
        self, row: StepComparison, context: StepContext, crop: torch.Tensor, legacy: dict[str, np.ndarray]
    ) -> str:
        """Find Caffe's discrete choices that differ (pool argmax, ReLU on/off) and follow them."""
        layer = context.target.layer
        masks = {key.split("/", 1)[1]: value for key, value in legacy.items() if key.startswith("mask/")}
        _, relu = self.worker.request({"op": "relu_outputs", "layer": layer})
        with torch.no_grad():
            trace = self.net.run(crop, end=layer)
        for name, argmax in trace.pool_argmax.items():
            if name in masks:
                bottom = trace.blobs[self.net.step(name).bottoms[0]]
                row.ties += find_ties(name, bottom.cpu().numpy(), None, argmax.cpu().numpy(), masks[name])
        active = {name: torch.from_numpy(out > 0) for name, out in relu.items()}
        for name, legacy_on in active.items():
            port_out = trace.blobs[self.net.step(name).tops[0]]
            flipped = (port_out > 0) != legacy_on
            if flipped.any():
                row.relu_flips.append(
                    {"layer": name, "units": int(flipped.sum()), "max_abs_value": float(port_out[flipped].abs().max())}
                )
        forced = {name: torch.from_numpy(m.astype(np.int64)) for name, m in masks.items()}
        grad = input_gradient(self.net, crop, context.target, pool_argmax=forced, relu_active=active)
        grad = mask_margin(grad, self.octaves[context.octave_index].margin)
        row.gradient_rel_forced = figures(legacy["gradient"], grad[0].cpu().numpy(), "gradient").max_rel
        if row.gradient_rel_forced > self.tol.gradient_rel or not (row.ties or row.relu_flips):
            return FAIL
        return "+".join(v for v, found in ((POOL_TIE, row.ties), (RELU_SIGN, row.relu_flips)) if found)
