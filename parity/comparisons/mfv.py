"""MFV on the parity engine: its legacy worker, its port loop, its stages and its step attribution.

Lockstep (level 4): the port runs the whole loop; at each zoom and each step
an observer sends the port's input (the image before the zoom, the image
before the step) to a long-lived pycaffe worker (``legacy_caffe`` job kind
``mfv_lockstep``), which keeps the reference loop's own random stream and
schedules.  Per step the two stacks' crop offsets and schedules must be
identical, and the four stages of :data:`parity.judges.step_attribution.MFV_STAGES`
(gradient, stepped, clipped, denoised crop) are compared: error without
accumulation.

The worker cuts its crop from the port's image at its own offsets and
writes its result back as the reference loop does: the two crops must be
the same bits, and the port's image after its write-back may differ from
Caffe's only by the step's denoised difference (a crop cut or written back
at the wrong place fails the step).

A step beyond tolerance is attributed by :mod:`parity.judges.step_attribution`
with Caffe as the reference - to max-pool near-ties or ReLU sign flips (the
port, made to follow Caffe's pooling masks and ReLU pattern, must agree
again, and so must its own step and denoiser from there), or to the
denoiser's stopping rule - or fails.  Free runs (level 5) compare whole runs
of the port and of the pycaffe reference loop (:mod:`parity.comparisons.reference`)
against the legacy noise floor (:mod:`parity.engine.free`).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from parity.comparisons.reference import reference_params, run_reference
from parity.engine import Answer, Lockstep, LockstepSection, RunReport, Worker, run_lockstep
from parity.engine import lockstep as engine_lockstep
from parity.engine import run_parity as engine_run_parity
from parity.judges.choices import Choices
from parity.judges.figures import bitwise_equal, figures
from parity.judges.runs import RunOutcome
from parity.judges.step_attribution import (
    MFV_STAGES,
    STAGES,
    Judgement,
    Stages,
    StepInputs,
    StepTolerances,
    attribute_step,
)
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import DENOISER, FAIL, PASS
from parity.stacks import LegacyStack
from parity.stacks.environment import file_digest
from port.caffe import CaffeNetwork
from port.mfv.backends import LoopOps, TorchOps
from port.mfv.loop import MFVConfig, MFVRun, StepContext, run_mfv
from port.mfv.step import StepRecord, StepStages


@dataclass
class RunSetup:
    """Everything both stacks need for one run."""

    net: CaffeNetwork
    prototxt: Path
    weights: Path
    config: MFVConfig
    seed: int
    start_path: Path | None
    start: np.ndarray | None
    name: str


@dataclass(frozen=True)
class LockstepTolerances:
    """The ``lockstep`` entry of the tolerance table: the step's stages and the zoom."""

    step: StepTolerances
    zoom_abs: float

    @classmethod
    def from_table(cls, table: dict) -> LockstepTolerances:
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


class MFVMethod:
    """MFV as an :class:`parity.engine.IterativeMethod`: ``setup``'s run, the port's loop ops and the tolerances."""

    name = "MFV"
    worker_kind = "mfv_lockstep"
    stages = MFV_STAGES
    tolerance_entry = "lockstep"

    def __init__(self, setup: RunSetup, ops: LoopOps | None = None, tol: Tolerances | None = None) -> None:
        self.setup, self.ops = setup, ops or TorchOps()
        self.tol = LockstepTolerances.from_table((tol or Tolerances.load()).table)

    def worker_job(self) -> tuple[dict[str, Any], dict[str, Path]]:
        setup = self.setup
        return reference_params(setup.config, setup.seed, setup.name), {
            "prototxt": setup.prototxt,
            "weights": setup.weights,
        }

    def run_port(
        self, lockstep: Lockstep | None = None, *, progress: bool = False, stop_after: int | None = None
    ) -> MFVRun:
        setup = self.setup
        observer = None if lockstep is None else _LoopObserver(self, lockstep)
        (run,) = run_mfv(
            setup.net,
            setup.config,
            [setup.seed],
            [setup.start],
            ops=self.ops,
            progress=progress,
            observer=observer,
            stop_after=stop_after,
        )
        return run

    def judge(
        self,
        context: tuple[StepContext, torch.Tensor, list[StepRecord]],
        port: Mapping[str, np.ndarray],
        answer: Answer,
        measured: dict[str, float],
        within: bool,
        lockstep: Lockstep,
    ) -> StepComparison:
        step, crops, records = context
        header, legacy = answer.header, answer.arrays
        judgement = Judgement(**measured)
        if not within:
            inputs = StepInputs(
                self.setup.net,
                crops[:1],
                step.target,
                self.setup.config.octaves[step.octave_index].margin,
                step.step_size,
                step.denoise_weight,
                self.ops,
                self.setup.config.legacy,
            )
            reference = Stages(*(legacy[name] for name in STAGES))
            subject = Stages(*(port[name] for name in STAGES))
            choices = lambda: _caffe_choices(lockstep, step, legacy)  # noqa: E731
            judgement = attribute_step(judgement, inputs, reference, subject, choices, self.tol.step)
        row = StepComparison(
            step.iteration,
            step.octave_index,
            step.i,
            step.offsets[0],
            (header["ox"], header["oy"]),
            (step.step_size, step.denoise_weight),
            (header["step_size"], header["denoise_weight"]),
            (records[0].best_unit, header["best_unit"]),
            (records[0].target_act, header["target_act"]),
            bitwise_equal(legacy["crop"], crops[0].cpu().numpy()),
            figures(legacy["written"], step.images[step.runs[0]].cpu().numpy(), "written image").max_abs,
            judgement,
        )
        if (
            row.port_offsets != row.legacy_offsets
            or row.port_schedule != row.legacy_schedule
            or not row.crop_equal
            or row.written_abs > judgement.denoised_abs
        ):
            judgement.verdict = FAIL
        return row

    def summarise(self, section: LockstepSection) -> dict[str, Any]:
        rows = section.rows
        return {
            "offsets_identical": all(r.port_offsets == r.legacy_offsets for r in rows),
            "schedules_identical": all(r.port_schedule == r.legacy_schedule for r in rows),
            "max_denoised_abs_of_passing_steps": _max_passing_denoised(rows),
            "zooms": [z.as_dict() for z in section.checks],
        }

    def lockstep_notes(self, section: LockstepSection) -> tuple[str, str]:
        summary = self.summarise(section)
        offsets = "identical" if summary["offsets_identical"] else "DIFFER"
        schedules = "identical" if summary["schedules_identical"] else "DIFFER"
        return (
            f"offsets {offsets}, schedules {schedules}",
            f"max {summary['max_denoised_abs_of_passing_steps']:.2g} grey levels",
        )

    def describe(self, row: StepComparison) -> str:
        return describe_event(row)

    def run_legacy(self, stack: LegacyStack, threads: int) -> tuple[MFVRun, dict]:
        run, _, manifest = _reference(self.setup, stack, threads)
        return run, manifest

    def outcome(self, run: MFVRun) -> RunOutcome:
        return mfv_outcome(run)


class _LoopObserver:
    """The MFV loop's observer that steps the engine's lockstep: zooms are asked and checked, each step's
    image is sent before the port steps and its stages judged after."""

    def __init__(self, method: MFVMethod, lockstep: Lockstep) -> None:
        self.method, self.lockstep = method, lockstep

    def on_zoom(self, octave_index: int, before: torch.Tensor, after: torch.Tensor) -> None:
        scale = self.method.setup.config.octaves[octave_index].scale
        answer = self.lockstep.ask({"op": "zoom", "scale": scale}, {"image": before[0].cpu().numpy()})
        fig = figures(answer.arrays["zoomed"], after[0].cpu().numpy(), f"zoom of octave {octave_index + 1}")
        passed = fig.max_abs <= self.method.tol.zoom_abs
        self.lockstep.checks.append(ZoomCheck(octave_index, scale, list(after.shape[2:]), fig.max_abs, passed))

    def before_step(self, context: StepContext, crops: torch.Tensor) -> None:
        if crops.shape[0] != 1:
            raise ValueError("lockstep parity follows one run at a time")
        self.lockstep.send(
            {"op": "step", "octave": context.octave_index, "i": context.i},
            {"image": context.images[context.runs[0]].cpu().numpy()},
        )

    def on_step(self, context: StepContext, crops: torch.Tensor, stages: StepStages, records: list[StepRecord]) -> None:
        port = Stages.of(stages, 0).__dict__
        self.lockstep.judge(port, (context, crops, records))


def _caffe_choices(lockstep: Lockstep, context: StepContext, legacy: dict[str, np.ndarray]) -> Choices:
    """Caffe's pooling masks for this crop (sent with the step) and its ReLU pattern (asked for)."""
    masks = {key.split("/", 1)[1]: value for key, value in legacy.items() if key.startswith("mask/")}
    relu = lockstep.ask({"op": "relu_outputs", "layer": context.target.layer}).arrays
    return Choices(masks, {name: out > 0 for name, out in relu.items()})


def _max_passing_denoised(rows: list[StepComparison]) -> float:
    return max((row.judgement.denoised_abs for row in rows if row.verdict == PASS), default=0.0)


def mfv_outcome(run: MFVRun) -> RunOutcome:
    """An MFV run as the free-run judges see it: the bookkeeping is each iteration's crop offsets, step size,
    denoise weight and layer."""
    return RunOutcome(
        run.image,
        [row.iteration for row in run.trace],
        [row.target_act for row in run.trace],
        [(row.ox, row.oy, row.step_size, row.denoise_weight, row.layer) for row in run.trace],
        run.non_finite_cause(),
    )


def describe_event(row: StepComparison) -> str:
    """One lockstep step's non-pass verdict in words."""
    judged = row.judgement
    where = f"iteration {row.iteration} (octave {row.octave + 1}, step {row.i})"
    if row.verdict == FAIL:
        return f"unexplained difference at {where}: denoised crops differ by {judged.denoised_abs:.3g} grey levels"
    events = [
        f"max-pool argmax flip in {t.layer} channel {t.channel} window ({t.row}, {t.col})" for t in judged.ties[:3]
    ]
    events += [
        f"ReLU sign flip in {f['layer']} ({f['units']} unit(s), |value| <= {f['max_abs_value']:.2g})"
        for f in judged.relu_flips
    ]
    parts = []
    if events:
        parts.append(
            f"{'; '.join(events)} at {where}; the port following Caffe's choices agrees to "
            f"{judged.gradient_rel_forced:.2g} (gradient, relative)"
        )
    if DENOISER in row.verdict.split("+"):
        port_its, caffe_its = judged.iterations
        parts.append(
            f"denoising difference at {where}: the stepped and clipped crops agree "
            f"({judged.followed_clipped_abs:.2g} grey levels), the denoisers are one function "
            f"({judged.same_denoiser_abs:.2g} grey levels on the same input), and split Bregman stopped after "
            f"{port_its} iterations on the port's crop and {caffe_its} on Caffe's, which took a "
            f"{judged.followed_clipped_abs:.2g} grey-level input difference to {judged.followed_denoised_abs:.2g}"
        )
    return "; then ".join(parts)


@dataclass(frozen=True)
class RunInputs:
    """What both stacks ran: file digests (``parity.stacks.environment.file_digest``), target, schedule and
    stacks."""

    prototxt: dict
    weights: dict
    weights_description: str
    target: str
    legacy: bool
    octaves: list[dict]
    seed: int
    start: dict | None
    legacy_stack: str
    legacy_blas_threads: int
    port_ops: str


def run_inputs(setup: RunSetup, stack: LegacyStack, threads: int, ops: LoopOps) -> RunInputs:
    return RunInputs(
        file_digest(setup.prototxt),
        file_digest(setup.weights),
        setup.net.weights_description,
        str(setup.config.target),
        setup.config.legacy,
        [o.as_dict() for o in setup.config.octaves],
        setup.seed,
        None if setup.start_path is None else file_digest(setup.start_path),
        stack.name,
        threads,
        ops.name,
    )


def lockstep(
    setup: RunSetup,
    stack: LegacyStack,
    *,
    threads: int,
    ops: LoopOps,
    tol: Tolerances | None = None,
    progress: bool,
    stop_after: int | None = None,
) -> tuple[MFVRun, Lockstep]:
    """The port's run with every zoom and step mirrored by the legacy worker."""
    tol = tol or Tolerances.load()
    return engine_lockstep(
        MFVMethod(setup, ops, tol), stack, threads=threads, tol=tol, progress=progress, stop_after=stop_after
    )


def lockstep_with(
    setup: RunSetup, worker: Worker, *, ops: LoopOps | None = None, tol: Tolerances | None = None
) -> tuple[MFVRun, Lockstep]:
    """The port's run in lockstep with any ``worker`` that speaks the ``mfv_lockstep`` protocol (a stand-in)."""
    tol = tol or Tolerances.load()
    return run_lockstep(MFVMethod(setup, ops, tol), worker, tol.table["lockstep"])


def run_parity(
    setup: RunSetup,
    stack: LegacyStack,
    *,
    mode: str,
    threads: int = 1,
    floor: bool = True,
    ops: LoopOps | None = None,
    tol: Tolerances | None = None,
    progress: bool = True,
) -> tuple[RunReport, dict[str, np.ndarray]]:
    """Run lockstep or free-run parity of ``setup``'s MFV run; return the report and its images (name -> H x W x
    3 array)."""
    ops = ops or TorchOps()
    tol = tol or Tolerances.load()
    method = MFVMethod(setup, ops, tol)
    inputs = run_inputs(setup, stack, threads, ops)
    return engine_run_parity(method, stack, inputs, mode=mode, threads=threads, floor=floor, tol=tol, progress=progress)


def _reference(setup: RunSetup, stack: LegacyStack, threads: int) -> tuple[MFVRun, bytes, dict]:
    return run_reference(
        stack,
        setup.prototxt,
        setup.weights,
        setup.config,
        setup.seed,
        setup.start_path,
        name=setup.name,
        threads=threads,
    )


def submit_reference(pool: Executor, setup: RunSetup, stack: LegacyStack, threads: int) -> Future:
    """Start the reference loop of ``setup`` on ``stack`` with ``threads`` BLAS threads in ``pool``;
    the future's result is :func:`parity.comparisons.reference.run_reference`'s."""
    return pool.submit(_reference, setup, stack, threads)
