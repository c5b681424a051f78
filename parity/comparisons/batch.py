"""Parity of a batched MFV run: several facets in one batch against the same facets run one at a time.

Batch lockstep: at every zoom and every step of a batched run, each image of
the batch is zoomed or stepped again alone, from the same crop, and the
two computations of the step are judged as the port is judged against
Caffe (:mod:`parity.judges.step_attribution`): a step passes when every stage agrees
within the ``batch`` tolerances; otherwise the image alone is made to
follow the batch's choices (max-pool argmax, ReLU on/off) and its own
step and denoiser, and the difference is attributed to pool ties, ReLU
sign flips or the denoiser's stopping rule - or fails.  Steps whose four
stages are equal to the bit are counted.

Which parts of a batched step are batch-invariant by construction, and
which are only measured, is said in :mod:`port.mfv.loop`.

Batch free run: each facet of a batched port run is compared with the
legacy reference running that facet alone (1 BLAS thread), beside the
legacy stack's own spread (2 threads against 1), with the figures of a
single free run (:mod:`parity.judges.runs`).  The verdict is on the medians
over the facets: one facet's distance is the luck of where its first
near-tie falls (two legacy runs can stay identical for a whole short run,
or part at step 0), so facet by facet the floor is itself noisy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch

from parity.comparisons.mfv import mfv_outcome
from parity.comparisons.reference import run_reference
from parity.judges.choices import port_choices
from parity.judges.runs import ImageFigures, image_figures, trace_agreement, within_floor
from parity.judges.step_attribution import Judgement, Stages, StepInputs, StepTolerances, judge_step
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL, PASS, Verdict
from parity.stacks import LegacyStack
from port.caffe import CaffeNetwork
from port.mfv.backends import LoopOps
from port.mfv.loop import MFVConfig, MFVRun, StepContext, run_mfv
from port.mfv.presets import Octave
from port.mfv.step import StepRecord, StepStages, mfv_step


@dataclass(frozen=True)
class BatchStep:
    """One image of one batched step against the same image stepped alone."""

    iteration: int
    run: int
    batch: int
    judgement: Judgement

    @property
    def bitwise(self) -> bool:
        j = self.judgement
        return j.gradient_rel == j.stepped_abs == j.clipped_abs == j.denoised_abs == 0.0

    def as_dict(self) -> dict:
        return {"iteration": self.iteration, "run": self.run, "batch": self.batch, "bitwise": self.bitwise} | (
            self.judgement.as_dict()
        )


@dataclass
class BatchLockstepObserver:
    """Re-runs every zoom and step of a batched run image by image and judges each image's step."""

    net: CaffeNetwork
    octaves: Sequence[Octave]
    ops: LoopOps
    legacy: bool
    tol: StepTolerances
    zooms: list[float] = field(default_factory=list)
    steps: list[BatchStep] = field(default_factory=list)

    def on_zoom(self, octave_index: int, before: torch.Tensor, after: torch.Tensor) -> None:
        scale = self.octaves[octave_index].scale
        alone = torch.cat([self.ops.zoom(before[n : n + 1], scale) for n in range(before.shape[0])])
        self.zooms.append(float((alone - after).abs().max()))

    def before_step(self, context: StepContext, crops: torch.Tensor) -> None:
        pass

    def on_step(self, context: StepContext, crops: torch.Tensor, stages: StepStages, records: list[StepRecord]) -> None:
        margin = self.octaves[context.octave_index].margin
        batched_choices = cache(lambda n: port_choices(self.net, crops, context.target.layer, n))
        for n in range(crops.shape[0]):
            inputs = StepInputs(
                self.net,
                crops[n : n + 1],
                context.target,
                margin,
                context.step_size,
                context.denoise_weight,
                self.ops,
                self.legacy,
            )
            _, _, alone = mfv_step(
                self.net,
                inputs.crop,
                inputs.target,
                margin,
                [inputs.step_size],
                [inputs.denoise_weight],
                self.ops,
                self.legacy,
            )
            judgement = judge_step(
                inputs, Stages.of(stages, n), Stages.of(alone, 0), lambda n=n: batched_choices(n), self.tol
            )
            self.steps.append(BatchStep(context.iteration, context.runs[n], crops.shape[0], judgement))


@dataclass(frozen=True)
class BatchLockstepReport:
    """A batched run judged step by step against its images stepped alone."""

    facets: int
    iterations: int
    steps: list[BatchStep]
    zooms: list[float]
    tolerances: StepTolerances
    zoom_tolerance: float

    @property
    def verdicts(self) -> dict[str, int]:
        return dict(sorted(Counter(s.judgement.verdict for s in self.steps).items()))

    @property
    def bitwise_steps(self) -> int:
        return sum(s.bitwise for s in self.steps)

    @property
    def max_zoom_abs(self) -> float:
        return max(self.zooms, default=0.0)

    @property
    def max_denoised_abs_of_passing_steps(self) -> float:
        return max((s.judgement.denoised_abs for s in self.steps if s.judgement.verdict == PASS), default=0.0)

    @property
    def passed(self) -> bool:
        return FAIL not in self.verdicts and self.max_zoom_abs <= self.zoom_tolerance

    @property
    def summary(self) -> str:
        others = ", ".join(f"{count} {verdict}" for verdict, count in self.verdicts.items() if verdict != PASS)
        others = f"; attributed or failed: {others}" if others else ""
        return Verdict(
            self.passed,
            f"{self.facets} facets in one batch vs each alone, "
            f"{len(self.steps)} image steps over {self.iterations} iterations: {self.bitwise_steps} bitwise equal, "
            f"{self.verdicts.get(PASS, 0)} within tolerance (max {self.max_denoised_abs_of_passing_steps:.3g} grey "
            f"levels, tolerance {self.tolerances.denoised_abs:g}){others}"
            f"; zooms {self.max_zoom_abs:.3g}",
        ).summary

    def as_dict(self) -> dict:
        return {
            "facets": self.facets,
            "iterations": self.iterations,
            "image_steps": len(self.steps),
            "bitwise_steps": self.bitwise_steps,
            "verdicts": self.verdicts,
            "max_denoised_abs_of_passing_steps": self.max_denoised_abs_of_passing_steps,
            "max_zoom_abs": self.max_zoom_abs,
            "tolerances": {"step": self.tolerances.__dict__, "zoom_abs": self.zoom_tolerance},
            "pass": self.passed,
            "summary": self.summary,
            "rows": [s.as_dict() for s in self.steps if not s.bitwise],
        }


def batch_lockstep(
    net: CaffeNetwork,
    config: MFVConfig,
    seeds: Sequence[int],
    starts: Sequence[np.ndarray | None] | None,
    ops: LoopOps,
    tol: Tolerances | None = None,
    progress: bool = False,
) -> tuple[list[MFVRun], BatchLockstepReport]:
    """A batched run stepped in lockstep with single runs; returns the runs and the report."""
    limits = (tol or Tolerances.load()).table["batch"]
    step_tol = StepTolerances.from_entry(limits)
    observer = BatchLockstepObserver(net, config.octaves, ops, config.legacy, step_tol)
    runs = run_mfv(net, config, seeds, starts, ops=ops, progress=progress, observer=observer)
    iterations = len({s.iteration for s in observer.steps})
    report = BatchLockstepReport(len(seeds), iterations, observer.steps, observer.zooms, step_tol, limits["zoom_abs"])
    return runs, report


def batch_free_run(
    net: CaffeNetwork,
    prototxt: Path,
    weights: Path,
    config: MFVConfig,
    seeds: Sequence[int],
    start_paths: Sequence[Path | None],
    starts: Sequence[np.ndarray | None],
    stack: LegacyStack,
    ops: LoopOps,
    *,
    name: str,
    tol: Tolerances | None = None,
    port_runs: Sequence[MFVRun] | None = None,
    legacy_two_threads: Sequence[MFVRun] | None = None,
    progress: bool = False,
) -> dict:
    """Judge each facet of a batched port run (run here unless given) against legacy's noise floor.

    Legacy runs every facet with 1 and 2 BLAS threads, two jobs at a time;
    ``legacy_two_threads`` supplies the 2-thread runs when they exist already.
    """
    tol = tol or Tolerances.load()
    free_tol = tol.table["free_run"]
    if port_runs is None:
        port_runs = run_mfv(net, config, seeds, starts, ops=ops, progress=progress)

    def legacy(job: tuple[int, Path | None, int]) -> MFVRun:
        seed, start_path, threads = job
        return run_reference(stack, prototxt, weights, config, seed, start_path, name=name, threads=threads)[0]

    counts = (1,) if legacy_two_threads is not None else (1, 2)
    jobs = [(seed, path, threads) for seed, path in zip(seeds, start_paths) for threads in counts]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(legacy, jobs))
    ones = done[:: len(counts)]
    twos = list(legacy_two_threads) if legacy_two_threads is not None else done[1::2]
    facets = []
    for n, (port, one, two) in enumerate(zip(port_runs, ones, twos)):
        port_fig, floor_fig = image_figures(one.image, port.image), image_figures(one.image, two.image)
        facets.append(
            {
                "seed": seeds[n],
                "start": None if start_paths[n] is None else str(start_paths[n]),
                "port_vs_legacy": port_fig.as_dict(),
                "noise_floor": floor_fig.as_dict(),
                "trace": asdict(trace_agreement(mfv_outcome(one), mfv_outcome(port))),
                "within_floor": within_floor(
                    port_fig, floor_fig, free_tol["psnr_margin_db"], free_tol["within_one_margin"]
                ),
            }
        )
    port_median, floor_median = _median_figures(facets, "port_vs_legacy"), _median_figures(facets, "noise_floor")
    within = within_floor(port_median, floor_median, free_tol["psnr_margin_db"], free_tol["within_one_margin"])
    identical = all(f["trace"]["offsets_and_schedules_identical"] for f in facets)
    passed = within and identical
    return {
        "facets": facets,
        "median": {"port_vs_legacy": port_median.as_dict(), "noise_floor": floor_median.as_dict()},
        "within_floor": within,
        "pass": passed,
        "summary": Verdict(
            passed,
            f"{len(facets)} batched facets, median over facets port vs legacy "
            f"{port_median.within_one:.1%} within one grey level, {port_median.psnr_db:.1f} dB; legacy 2 threads "
            f"vs 1: {floor_median.within_one:.1%}, {floor_median.psnr_db:.1f} dB -> "
            f"{'WITHIN' if within else 'OUTSIDE'} the noise floor; facet by facet "
            f"{sum(f['within_floor'] for f in facets)} of {len(facets)} within; offsets and schedules "
            f"{'identical' if identical else 'DIFFER'}",
        ).summary,
    }


def _median_figures(facets: list[dict], key: str) -> ImageFigures:
    def median(name: str) -> float:
        return float(np.median([f[key][name] for f in facets]))

    return ImageFigures(median("max_abs"), median("within_one"), median("psnr_db"), tuple(facets[0][key]["shape"]))
