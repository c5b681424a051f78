"""Parity of a batched MFV run: several facets in one batch against the same facets run one at a time.

Batch lockstep: at every zoom and every step of a batched run, each image of
the batch is zoomed or stepped again alone, from the same crop; the two
must agree within ``batch.denoised_abs`` grey levels (and ``batch.zoom_abs``).
This isolates what batching changes (summation order in the net and the
denoiser) from the loop's chaos.

Batch free run: each facet of a batched port run is compared with the
legacy reference running that facet alone (1 BLAS thread), beside the
legacy stack's own spread (2 threads against 1), with the figures of a
single free run (:mod:`parity.freerun`).  The verdict is on the medians
over the facets: one facet's distance is the luck of where its first
near-tie falls (two legacy runs can stay identical for a whole short run,
or part at step 0), so facet by facet the floor is itself noisy.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from parity.freerun import ImageFigures, image_figures, trace_agreement, within_floor
from parity.reference import run_reference
from parity.stacks import LegacyStack
from parity.tolerances import Tolerances
from port.caffe import CaffeNetwork
from port.mfv.backends import LoopOps
from port.mfv.loop import MFVConfig, MFVRun, StepContext, run_mfv
from port.mfv.presets import Octave
from port.mfv.step import StepRecord, StepStages, mfv_step


@dataclass
class BatchLockstepObserver:
    """Re-runs every zoom and step of a batched run image by image and records the largest differences."""

    net: CaffeNetwork
    octaves: Sequence[Octave]
    ops: LoopOps
    legacy: bool
    zooms: list[float] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)

    def on_zoom(self, octave_index: int, before: torch.Tensor, after: torch.Tensor) -> None:
        scale = self.octaves[octave_index].scale
        alone = torch.cat([self.ops.zoom(before[n : n + 1], scale) for n in range(before.shape[0])])
        self.zooms.append(float((alone - after).abs().max()))

    def before_step(self, context: StepContext, crops: torch.Tensor) -> None:
        pass

    def on_step(self, context: StepContext, crops: torch.Tensor, stages: StepStages, records: list[StepRecord]) -> None:
        margin = self.octaves[context.octave_index].margin
        gaps = []
        for n in range(crops.shape[0]):
            alone, (record,), _ = mfv_step(
                self.net,
                crops[n : n + 1],
                context.target,
                margin,
                [context.step_size],
                [context.denoise_weight],
                self.ops,
                self.legacy,
            )
            gaps.append(
                {
                    "denoised_abs": float((alone[0] - stages.denoised[n]).abs().max()),
                    "target_act_abs": abs(record.target_act - records[n].target_act),
                }
            )
        self.steps.append(
            {
                "iteration": context.iteration,
                "batch": crops.shape[0],
                "denoised_abs": max(g["denoised_abs"] for g in gaps),
                "target_act_abs": max(g["target_act_abs"] for g in gaps),
            }
        )


def batch_lockstep(
    net: CaffeNetwork,
    config: MFVConfig,
    seeds: Sequence[int],
    starts: Sequence[np.ndarray | None] | None,
    ops: LoopOps,
    tol: Tolerances | None = None,
    progress: bool = False,
) -> tuple[list[MFVRun], dict]:
    """A batched run stepped in lockstep with single runs; returns the runs and the section of the report."""
    tol = tol or Tolerances.load()
    limits = tol.table["batch"]
    observer = BatchLockstepObserver(net, config.octaves, ops, config.legacy)
    runs = run_mfv(net, config, seeds, starts, ops=ops, progress=progress, observer=observer)
    worst = max((s["denoised_abs"] for s in observer.steps), default=0.0)
    worst_zoom = max(observer.zooms, default=0.0)
    bitwise = sum(s["denoised_abs"] == 0.0 for s in observer.steps)
    passed = worst <= limits["denoised_abs"] and worst_zoom <= limits["zoom_abs"]
    section = {
        "facets": len(seeds),
        "steps": len(observer.steps),
        "max_denoised_abs": worst,
        "max_zoom_abs": worst_zoom,
        "max_target_act_abs": max((s["target_act_abs"] for s in observer.steps), default=0.0),
        "bitwise_steps": bitwise,
        "tolerance": {"denoised_abs": limits["denoised_abs"], "zoom_abs": limits["zoom_abs"]},
        "pass": passed,
        "summary": (
            f"{'PASS' if passed else 'FAIL'}: {len(seeds)} facets in one batch vs each alone, "
            f"{len(observer.steps)} steps; max difference {worst:.3g} grey levels "
            f"(tolerance {limits['denoised_abs']:g}), {bitwise} steps bitwise equal; zooms {worst_zoom:.3g}"
        ),
        "rows": observer.steps,
    }
    return runs, section


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
                "trace": trace_agreement(one, port),
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
        "summary": (
            f"{'PASS' if passed else 'FAIL'}: {len(facets)} batched facets, median over facets port vs legacy "
            f"{port_median.within_one:.1%} within one grey level, {port_median.psnr_db:.1f} dB; legacy 2 threads "
            f"vs 1: {floor_median.within_one:.1%}, {floor_median.psnr_db:.1f} dB -> "
            f"{'WITHIN' if within else 'OUTSIDE'} the noise floor; facet by facet "
            f"{sum(f['within_floor'] for f in facets)} of {len(facets)} within; offsets and schedules "
            f"{'identical' if identical else 'DIFFER'}"
        ),
    }


def _median_figures(facets: list[dict], key: str) -> ImageFigures:
    def median(name: str) -> float:
        return float(np.median([f[key][name] for f in facets]))

    return ImageFigures(median("max_abs"), median("within_one"), median("psnr_db"), tuple(facets[0][key]["shape"]))
