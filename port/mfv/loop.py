"""The MFV octave loop (docs/legacy-spec.md, section 4), for a batch of runs at once.

A run stops at its first non-finite crop: the original carried on in NaN,
but on Caffe a NaN input makes MAX pooling's backward write out of bounds
and abort (see ``legacy_caffe.mfv_reference``), so the reference stops
there too and both stacks' traces end at the same iteration.

Each run n has its own seed and start image and its own
``numpy.random.RandomState(seed)`` stream, used exactly as the original
used the global one: the random start ``normal(175, 8, (H, W, 3))`` is
drawn first, always (a start image then replaces it), then two draws per
iteration for the crop offsets whenever the image is larger than the net's
input.  Runs share the target, the preset and the schedules, so their crops
are stepped together as one batch through the net.

What batching changes.  By construction, on any machine, a run gets the
same random stream, crop offsets and schedules, the same crops and
write-backs, and the same elementwise arithmetic of the step (mean |g|'s
coefficient, the step, the clip, pre- and deprocessing) whether it runs
alone or in a batch; on the CPU so does the denoiser, which runs each
image's own iteration with scikit-image's operations in scikit-image's
order and stops each image on its own.  Not by construction: the net's
convolutions and inner products, the zoom's matrix products and the sum
behind mean |g|, whose summation order a BLAS (or oneDNN, or cuDNN) picks
by the batch size - on one AMD EPYC a row of CaffeNet's fc6 gives one
result for 1 row, another for 2-3 and a third for 4 or more.  Those
rounding-level differences are measured, not assumed: ``parity.comparisons.batch``
judges every step of a batched run against its images stepped alone and
attributes what differs beyond rounding (max-pool near-ties, ReLU sign
flips, the denoiser's stopping rule).  Whole runs part where such an event
falls, as two legacy runs with 1 and 2 BLAS threads do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import torch
from tqdm import tqdm

from port.imaging import InputConvention, random_start
from port.mfv.backends import LoopOps, TorchOps
from port.mfv.crops import crop_at, draw_offsets
from port.mfv.model import VisModel
from port.mfv.presets import Octave
from port.mfv.schedules import denoise_weight, step_size
from port.mfv.step import StepRecord, StepStages, mfv_step
from port.targets import Target


@dataclass(frozen=True)
class MFVConfig:
    """What to visualise and how: ``target.layer`` serves octaves whose ``layer`` is None."""

    target: Target
    octaves: tuple[Octave, ...]
    legacy: bool = True


@dataclass(frozen=True)
class TraceRow:
    """One iteration of one run; activations describe the image before the step."""

    iteration: int
    octave: int
    i: int
    layer: str
    ox: int
    oy: int
    step_size: float
    denoise_weight: float
    best_unit: int
    best_act: float
    target_act: float
    mean_abs_grad: float
    finite: bool
    guarded: bool


@dataclass
class MFVRun:
    """One finished run: the final image (H x W x 3 RGB float32, deprocessed) and its trace."""

    seed: int
    image: np.ndarray
    trace: list[TraceRow] = field(default_factory=list)

    @property
    def first_non_finite(self) -> TraceRow | None:
        return next((row for row in self.trace if not row.finite), None)

    def non_finite_cause(self) -> str | None:
        """Why the image stopped being finite, in words (None if it did not)."""
        row = self.first_non_finite
        if row is None:
            return None
        where = f"iteration {row.iteration} (octave {row.octave + 1}, step {row.i}, layer {row.layer})"
        if row.mean_abs_grad == 0:
            cause = (
                f"mean |g| = 0 - the one-hot's gradient vanished (a saturated {row.layer}), so "
                "step_size / mean|g| is infinite and the crop became NaN (the original's behaviour)"
            )
        elif not np.isfinite(row.mean_abs_grad):
            cause = "the gradient itself was not finite"
        else:
            cause = "the crop became non-finite after the step"
        return f"{where}: {cause}; the run stopped there"


@dataclass(frozen=True)
class StepContext:
    """Where the loop is, for observers.

    ``runs``: the indices of the runs still going, in batch order.
    ``images``: every run's image, indexed by run, as the loop holds it - the
    crops are cut from it before the step and written back into it (in
    place) before ``on_step``.
    """

    octave_index: int
    i: int
    iteration: int
    image_shape: tuple[int, int]
    offsets: list[tuple[int, int]]
    step_size: float
    denoise_weight: float
    target: Target
    runs: tuple[int, ...]
    images: torch.Tensor


class LoopObserver(Protocol):
    """Hooks for lockstep parity: see every zoom and every step as it happens."""

    def on_zoom(self, octave_index: int, before: torch.Tensor, after: torch.Tensor) -> None: ...

    def before_step(self, context: StepContext, crops: torch.Tensor) -> None:
        """Called with the crops about to be stepped (lets another process start on them)."""

    def on_step(self, context: StepContext, crops: torch.Tensor, stages: StepStages, records: list[StepRecord]) -> None:
        """``crops``, ``stages``, ``records`` and ``context.offsets`` cover the runs still going."""


def start_images(
    seeds: Sequence[int],
    starts: Sequence[np.ndarray | None],
    crop_shape: tuple[int, int],
    convention: InputConvention,
) -> tuple[list[np.random.RandomState], torch.Tensor]:
    """Each run's stream (the random start drawn, in pixels) and the (N, 3, H, W) float32 starts, preprocessed."""
    if len(seeds) != len(starts):
        raise ValueError(f"{len(seeds)} seeds for {len(starts)} start images")
    rngs, images = [], []
    for seed, start in zip(seeds, starts):
        rng = np.random.RandomState(seed)
        drawn = random_start(rng, crop_shape)
        image = drawn if start is None else start
        if image.shape != (*crop_shape, 3):
            raise ValueError(f"start image has shape {image.shape}; the net takes {crop_shape[0]}x{crop_shape[1]} RGB")
        rngs.append(rng)
        images.append(convention.preprocess(image))
    return rngs, torch.from_numpy(np.stack(images))


def run_mfv(
    net: VisModel,
    config: MFVConfig,
    seeds: Sequence[int],
    starts: Sequence[np.ndarray | None] | None = None,
    *,
    ops: LoopOps | None = None,
    progress: bool = True,
    observer: LoopObserver | None = None,
    stop_after: int | None = None,
) -> list[MFVRun]:
    """Run the loop for every (seed, start) in one batch; a start of None is the random image of that seed.

    The loop runs on the net's device (move the net with ``net.to("cuda")``), in the net's input
    convention (``net.convention``); step sizes, clip range and denoise weights are in pixel units.

    ``stop_after`` ends the loop after that many iterations (a replay of a
    run's beginning); the images are then the unfinished ones.
    """
    ops = ops or TorchOps()
    starts = [None] * len(seeds) if starts is None else list(starts)
    crop_shape = net.input_size
    rngs, images = start_images(seeds, starts, crop_shape, net.convention)
    images = images.to(net.device)
    runs = [MFVRun(seed, np.empty(0)) for seed in seeds]
    active = list(range(len(runs)))
    iteration = 0
    for k, octave in enumerate(config.octaves):
        if not active or (stop_after is not None and iteration >= stop_after):
            break
        if octave.scale is not None:
            zoomed = ops.zoom(images, octave.scale)
            if observer is not None:
                observer.on_zoom(k, images, zoomed)
            images = zoomed
        target = replace(config.target, layer=octave.layer or config.target.layer)
        shape = tuple(images.shape[2:])
        bar = tqdm(
            range(octave.iter_n),
            desc=f"octave {k + 1}/{len(config.octaves)} ({target.layer})",
            disable=not progress,
            leave=False,
            unit="step",
        )
        for i in bar:
            if not active or (stop_after is not None and iteration >= stop_after):
                break
            offsets = [draw_offsets(rngs[n], shape, crop_shape, octave.window) for n in active]
            crops = torch.stack([crop_at(images[n], at, crop_shape) for n, at in zip(active, offsets)])
            size, weight = step_size(octave, i, config.legacy), denoise_weight(octave, i, config.legacy)
            context = StepContext(k, i, iteration, shape, offsets, size, weight, target, tuple(active), images)
            if observer is not None:
                observer.before_step(context, crops)
            stepped, records, stages = mfv_step(
                net, crops, target, octave.margin, [size] * len(active), [weight] * len(active), ops, config.legacy
            )
            finite = torch.isfinite(stepped).flatten(1).all(dim=1).tolist()
            for j, (n, (ox, oy), record) in enumerate(zip(active, offsets, records)):
                crop_at(images[n], (ox, oy), crop_shape)[...] = stepped[j]
                runs[n].trace.append(
                    TraceRow(
                        iteration,
                        k,
                        i,
                        target.layer,
                        ox,
                        oy,
                        size,
                        weight,
                        record.best_unit,
                        record.best_act,
                        record.target_act,
                        record.mean_abs_grad,
                        finite[j],
                        record.guarded,
                    )
                )
            if observer is not None:
                observer.on_step(context, crops, stages, records)
            bar.set_postfix(target=f"{records[0].target_act:.3g}")
            for n, ok in zip(active, finite):
                if not ok:
                    runs[n].image = net.convention.deprocess(images[n].cpu().numpy())
            active = [n for n, ok in zip(active, finite) if ok]
            iteration += 1
    for n in active:
        runs[n].image = net.convention.deprocess(images[n].cpu().numpy())
    return runs
