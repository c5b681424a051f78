"""``mfv parity run``: lockstep (level 4) and free-run (level 5) parity of the MFV loop."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import numpy as np

from parity.environment import file_digest, port_manifest
from parity.freerun import (
    ImageFigures,
    TraceAgreement,
    divergence,
    first_divergence,
    image_figures,
    trace_agreement,
    within_floor,
)
from parity.lockstep import LockstepObserver, LockstepTolerances, StepComparison, ZoomCheck
from parity.reference import reference_params, run_reference
from parity.report import Report
from parity.stacks import LegacyStack, other_blas_core
from parity.tolerances import Tolerances
from parity.verdict import DENOISER, FAIL, PASS, Verdict
from port.caffe import CaffeNetwork
from port.mfv.backends import LoopOps, TorchOps
from port.mfv.loop import MFVConfig, MFVRun, run_mfv

REPLAY_CAP = 60


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


def lockstep(
    setup: RunSetup,
    stack: LegacyStack,
    *,
    threads: int,
    ops: LoopOps,
    tol: LockstepTolerances,
    progress: bool,
    stop_after: int | None = None,
) -> tuple[MFVRun, LockstepObserver]:
    """The port's run with every zoom and step mirrored by the legacy worker."""
    params = reference_params(setup.config, setup.seed, setup.name)
    with stack.worker(
        "mfv_lockstep", params, {"prototxt": setup.prototxt, "weights": setup.weights}, threads=threads
    ) as worker:
        observer = LockstepObserver(setup.net, setup.config.octaves, worker, ops, tol)
        (run,) = run_mfv(
            setup.net,
            setup.config,
            [setup.seed],
            [setup.start],
            ops=ops,
            progress=progress,
            observer=observer,
            stop_after=stop_after,
        )
    return run, observer


@dataclass(frozen=True)
class LockstepSection:
    """Every lockstep step and zoom of a run (or of a replay), judged."""

    rows: list[StepComparison]
    zooms: list[ZoomCheck]

    @property
    def verdicts(self) -> dict[str, int]:
        return dict(sorted(Counter(row.verdict for row in self.rows).items()))

    @property
    def offsets_identical(self) -> bool:
        return all(r.port_offsets == r.legacy_offsets for r in self.rows)

    @property
    def schedules_identical(self) -> bool:
        return all(r.port_schedule == r.legacy_schedule for r in self.rows)

    @property
    def max_denoised_abs_of_passing_steps(self) -> float:
        return max((row.judgement.denoised_abs for row in self.rows if row.verdict == PASS), default=0.0)

    @property
    def passed(self) -> bool:
        return self.verdicts.get(FAIL, 0) == 0 and all(z.passed for z in self.zooms)

    def as_dict(self) -> dict:
        return {
            "steps": len(self.rows),
            "verdicts": self.verdicts,
            "offsets_identical": self.offsets_identical,
            "schedules_identical": self.schedules_identical,
            "max_denoised_abs_of_passing_steps": self.max_denoised_abs_of_passing_steps,
            "zooms": [z.as_dict() for z in self.zooms],
            "pass": self.passed,
            "rows": [row.as_dict() for row in self.rows],
        }


@dataclass(frozen=True)
class FirstDivergence:
    """The first iteration whose target activations part beyond tolerance (None: never), and why."""

    iteration: int | None
    cause: str


@dataclass(frozen=True)
class NoiseFloor:
    """Legacy against itself along one axis of its environment (``axis``: the other BLAS thread count, or
    the other OpenBLAS kernel, ``other``), and whether the port lies within it."""

    axis: str
    other: str
    figures: ImageFigures
    divergence: list[float]
    first_divergence: int | None
    within_floor: bool


@dataclass(frozen=True)
class FreeSection:
    """Whole runs compared: final images, traces, divergence over the iterations, and the noise floor."""

    port_vs_legacy: ImageFigures
    trace: TraceAgreement
    divergence: list[float]
    non_finite: dict[str, str | None]
    first_divergence: FirstDivergence
    floor: NoiseFloor | None
    kernel_floor: NoiseFloor | None = None

    @property
    def floors(self) -> list[NoiseFloor]:
        """The legacy noise floor's axes that were run: threads, kernel."""
        return [floor for floor in (self.floor, self.kernel_floor) if floor is not None]

    @property
    def within_floor(self) -> bool:
        """The port is no further from legacy than legacy is from itself along one of the axes run."""
        return any(floor.within_floor for floor in self.floors)

    @property
    def divergences(self) -> dict[str, list[float]]:
        """Per pair of runs, the relative target-activation difference at each iteration."""
        pairs = {"port_vs_legacy": self.divergence}
        if self.floor is not None:
            pairs["legacy_2_threads_vs_1"] = self.floor.divergence
        if self.kernel_floor is not None:
            pairs["legacy_other_kernel"] = self.kernel_floor.divergence
        return pairs

    def as_dict(self) -> dict:
        section = {
            "port_vs_legacy": self.port_vs_legacy.as_dict(),
            "trace": asdict(self.trace),
            "divergence": self.divergences,
            "non_finite": self.non_finite,
            "first_divergence": asdict(self.first_divergence),
        }
        if self.floor is not None:
            section["noise_floor"] = self.floor.figures.as_dict()
            section["floor_first_divergence"] = self.floor.first_divergence
        if self.kernel_floor is not None:
            section["kernel_noise_floor"] = dict(self.kernel_floor.figures.as_dict(), kernel=self.kernel_floor.other)
            section["kernel_floor_first_divergence"] = self.kernel_floor.first_divergence
        if self.floors:
            section["within_floor"] = self.within_floor
        return section


@dataclass(frozen=True)
class RunInputs:
    """What both stacks ran: file digests (``parity.environment.file_digest``), target, schedule and stacks."""

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


@dataclass(frozen=True)
class RunReport(Report):
    """Level 4 (``mode`` lockstep: ``lockstep``) or 5 (free: ``free``, and ``lockstep_replay`` up to the first
    divergence when the runs part); ``inputs``: :class:`RunInputs`; :meth:`as_dict` is ``report.json``."""

    kind: ClassVar[str] = "run"
    mode: str
    lockstep: LockstepSection | None = None
    lockstep_replay: LockstepSection | None = None
    free: FreeSection | None = None

    def head(self) -> dict:
        return {"kind": self.kind, "mode": self.mode} | super().head()

    def sections(self) -> dict:
        named = {"lockstep": self.lockstep, "lockstep_replay": self.lockstep_replay, "free": self.free}
        return {key: section.as_dict() for key, section in named.items() if section is not None}


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


def free_section(
    port: MFVRun,
    legacy: MFVRun,
    floor: MFVRun | None,
    tol: Tolerances,
    replay: LockstepSection | None,
    kernel_floor: tuple[str, MFVRun] | None = None,
) -> FreeSection:
    """``floor``: legacy with the other BLAS thread count; ``kernel_floor``: (kernel, legacy with that kernel)."""
    free_tol = tol.table["free_run"]
    port_fig = image_figures(legacy.image, port.image)
    first = first_divergence(legacy, port, free_tol["divergence_rel"])

    def noise_floor(axis: str, other: str, run: MFVRun) -> NoiseFloor:
        floor_fig = image_figures(legacy.image, run.image)
        return NoiseFloor(
            axis,
            other,
            floor_fig,
            divergence(legacy, run),
            first_divergence(legacy, run, free_tol["divergence_rel"]),
            within_floor(port_fig, floor_fig, free_tol["psnr_margin_db"], free_tol["within_one_margin"]),
        )

    return FreeSection(
        port_fig,
        trace_agreement(legacy, port),
        divergence(legacy, port),
        {"port": port.non_finite_cause(), "legacy": legacy.non_finite_cause()},
        FirstDivergence(first, _cause(first, replay)),
        None if floor is None else noise_floor("threads", "other BLAS thread count", floor),
        None if kernel_floor is None else noise_floor("kernel", *kernel_floor),
    )


def _cause(first: int | None, replay: LockstepSection | None) -> str:
    if first is None:
        return "the runs never part beyond the divergence tolerance"
    if replay is None:
        return "not attributed (no lockstep replay)"
    events = [row for row in replay.rows if row.verdict != PASS and row.iteration <= first]
    if events:
        return describe_event(events[0])
    return (
        f"no single event in the lockstep replay of iterations 0-{len(replay.rows) - 1}: every step agrees "
        f"within tolerance, so rounding-level differences grew until iteration {first}"
    )


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
) -> tuple[RunReport, dict]:
    """Run lockstep or free-run parity; return the report and its images (name -> H x W x 3 array)."""
    if mode not in ("lockstep", "free"):
        raise ValueError(f"mode must be 'lockstep' or 'free', not {mode!r}")
    ops = ops or TorchOps()
    tol = tol or Tolerances.load()
    step_tol = LockstepTolerances.from_table(tol.table)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    inputs = _inputs(setup, stack, threads, ops)
    tolerances = {"source": tol.source, "lockstep": tol.table["lockstep"], "free_run": tol.table["free_run"]}
    if mode == "lockstep":
        port, observer = lockstep(setup, stack, threads=threads, ops=ops, tol=step_tol, progress=progress)
        section = LockstepSection(observer.steps, observer.zooms)
        environment = {"port": port_manifest(), "legacy": None}
        report = RunReport(created, inputs, tolerances, environment, _verdict_lockstep(section), mode, lockstep=section)
        return report, {"port": port.image}
    kernel = other_blas_core(stack.blas_core)
    legacy_runs = [(stack, threads)]
    if floor:
        legacy_runs += [(stack, 3 - threads)] if threads in (1, 2) else []
        legacy_runs += [(stack.with_blas_core(kernel), threads)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        legacy_jobs = [submit_reference(pool, setup, on, n) for on, n in legacy_runs]
        (port,) = run_mfv(setup.net, setup.config, [setup.seed], [setup.start], ops=ops, progress=progress)
        legacy, _, legacy_manifest = legacy_jobs[0].result()
        other = legacy_jobs[1].result()[0] if len(legacy_jobs) == 3 else None
        other_kernel = (kernel, legacy_jobs[-1].result()[0]) if floor else None
    environment = {"port": port_manifest(), "legacy": legacy_manifest["environment"]}
    first = first_divergence(legacy, port, tol.table["free_run"]["divergence_rel"])
    replay = None
    if first is not None:
        _, observer = lockstep(
            setup, stack, threads=threads, ops=ops, tol=step_tol, progress=False, stop_after=min(first + 1, REPLAY_CAP)
        )
        replay = LockstepSection(observer.steps, observer.zooms)
    free = free_section(port, legacy, other, tol, replay, other_kernel)
    report = RunReport(
        created, inputs, tolerances, environment, _verdict_free(free), mode, lockstep_replay=replay, free=free
    )
    images = {"port": port.image, "legacy": legacy.image}
    if other is not None:
        images["legacy, other thread count"] = other.image
    if other_kernel is not None:
        images[f"legacy, {kernel} kernel"] = other_kernel[1].image
    return report, images


def submit_reference(pool: Executor, setup: RunSetup, stack: LegacyStack, threads: int) -> Future:
    """Start the reference loop of ``setup`` on ``stack`` with ``threads`` BLAS threads in ``pool``;
    the future's result is :func:`parity.reference.run_reference`'s."""
    return pool.submit(
        run_reference,
        stack,
        setup.prototxt,
        setup.weights,
        setup.config,
        setup.seed,
        setup.start_path,
        name=setup.name,
        threads=threads,
    )


def _inputs(setup: RunSetup, stack: LegacyStack, threads: int, ops: LoopOps) -> RunInputs:
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


def _verdict_lockstep(section: LockstepSection) -> Verdict:
    v = dict(section.verdicts)
    within = v.pop(PASS, 0)
    unexplained = v.pop(FAIL, 0)
    attributed = ", ".join(f"{n} to {k}" for k, n in v.items()) or "none attributed"
    detail = (
        f"{len(section.rows)} lockstep steps; offsets "
        f"{'identical' if section.offsets_identical else 'DIFFER'}, schedules "
        f"{'identical' if section.schedules_identical else 'DIFFER'}; {within} within tolerance "
        f"(max {section.max_denoised_abs_of_passing_steps:.2g} grey levels); {attributed}; "
        f"{unexplained} unexplained"
    )
    return Verdict(section.passed, detail)


def _verdict_free(section: FreeSection) -> Verdict:
    port = section.port_vs_legacy
    detail = (
        f"port vs legacy: {port.within_one:.1%} of values within one grey level, PSNR {port.psnr_db:.1f} dB, "
        f"first divergence at iteration {section.first_divergence.iteration}"
    )
    ok = section.trace.offsets_and_schedules_identical
    for floor in section.floors:
        detail += (
            f"; legacy vs itself ({floor.other}{' kernel' if floor.axis == 'kernel' else ''}): "
            f"{floor.figures.within_one:.1%} within one grey level, PSNR {floor.figures.psnr_db:.1f} dB"
        )
    if section.floors:
        detail += f" -> port {'WITHIN' if section.within_floor else 'OUTSIDE'} the legacy noise floor"
        ok = ok and section.within_floor
    return Verdict(ok, detail)
