"""Free runs of any iterative method: whole runs on both stacks from the same seed and start, judged against
the legacy noise floor.

The port's run is compared with the legacy reference's (final images, the
bookkeeping at every iteration, the target activation's divergence over the
iterations), and the reference is compared with itself along the legacy
environment's two axes: the other BLAS thread count and the other pinned
OpenBLAS kernel.  The port is within the floor when it is no further from
the reference than the reference is from itself along one of them
(:func:`parity.judges.runs.within_floor`, margins from the ``free_run``
tolerances).  Where the runs part, a lockstep replay up to the first
divergence (:mod:`parity.engine.lockstep`) names its cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from parity.engine.lockstep import LockstepSection
from parity.engine.method import IterativeMethod
from parity.judges.runs import (
    ImageFigures,
    RunOutcome,
    TraceAgreement,
    divergence,
    first_divergence,
    image_figures,
    trace_agreement,
    within_floor,
)
from parity.judges.verdict import PASS, Verdict
from parity.stacks import LegacyStack, other_blas_core


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

    def verdict(self) -> Verdict:
        """Pass when the bookkeeping matched at every iteration and, where a floor was run, the port is within it."""
        port = self.port_vs_legacy
        detail = (
            f"port vs legacy: {port.within_one:.1%} of values within one grey level, PSNR {port.psnr_db:.1f} dB, "
            f"first divergence at iteration {self.first_divergence.iteration}"
        )
        ok = self.trace.offsets_and_schedules_identical
        for floor in self.floors:
            detail += (
                f"; legacy vs itself ({floor.other}{' kernel' if floor.axis == 'kernel' else ''}): "
                f"{floor.figures.within_one:.1%} within one grey level, PSNR {floor.figures.psnr_db:.1f} dB"
            )
        if self.floors:
            detail += f" -> port {'WITHIN' if self.within_floor else 'OUTSIDE'} the legacy noise floor"
            ok = ok and self.within_floor
        return Verdict(ok, detail)


@dataclass(frozen=True)
class FreeRuns:
    """The runs of a free-run comparison: the port's, the reference's (with its manifest), and the floor's
    runs that were made (``other_threads``; ``other_kernel``: (kernel, run))."""

    port: Any
    legacy: Any
    legacy_manifest: dict
    other_threads: Any | None
    other_kernel: tuple[str, Any] | None


def free_runs(
    method: IterativeMethod, stack: LegacyStack, *, threads: int, floor: bool, progress: bool = False
) -> FreeRuns:
    """The port's run here while the legacy runs go two at a time: the reference with ``threads`` BLAS threads
    and, with ``floor``, the same with the other thread count (for 1 or 2) and with the other kernel."""
    kernel = other_blas_core(stack.blas_core)
    legacy_runs = [(stack, threads)]
    if floor:
        legacy_runs += [(stack, 3 - threads)] if threads in (1, 2) else []
        legacy_runs += [(stack.with_blas_core(kernel), threads)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(method.run_legacy, on, n) for on, n in legacy_runs]
        port = method.run_port(progress=progress)
        legacy, manifest = jobs[0].result()
        other = jobs[1].result()[0] if len(jobs) == 3 else None
        other_kernel = (kernel, jobs[-1].result()[0]) if floor else None
    return FreeRuns(port, legacy, manifest, other, other_kernel)


def free_section(
    port: RunOutcome,
    legacy: RunOutcome,
    floor: RunOutcome | None,
    free_tol: Mapping[str, float],
    replay: LockstepSection | None,
    kernel_floor: tuple[str, RunOutcome] | None = None,
) -> FreeSection:
    """``floor``: legacy with the other BLAS thread count; ``kernel_floor``: (kernel, legacy with that kernel);
    ``replay``: the lockstep replay up to the first divergence, whose first event not within tolerance is its
    cause (described by the replay's method)."""
    port_fig = image_figures(legacy.image, port.image)
    first = first_divergence(legacy, port, free_tol["divergence_rel"])

    def noise_floor(axis: str, other: str, run: RunOutcome) -> NoiseFloor:
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
        {"port": port.non_finite, "legacy": legacy.non_finite},
        FirstDivergence(first, divergence_cause(first, replay)),
        None if floor is None else noise_floor("threads", "other BLAS thread count", floor),
        None if kernel_floor is None else noise_floor("kernel", *kernel_floor),
    )


def divergence_cause(first: int | None, replay: LockstepSection | None) -> str:
    """Why the runs part at ``first``: the replay's first step not within tolerance up to it, in its method's
    words, or rounding that grew where every replayed step agrees."""
    if first is None:
        return "the runs never part beyond the divergence tolerance"
    if replay is None:
        return "not attributed (no lockstep replay)"
    events = [row for row in replay.rows if row.verdict != PASS and row.iteration <= first]
    if events:
        return replay.method.describe(events[0])
    return (
        f"no single event in the lockstep replay of iterations 0-{len(replay.rows) - 1}: every step agrees "
        f"within tolerance, so rounding-level differences grew until iteration {first}"
    )
