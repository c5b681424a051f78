"""Lockstep between two legacy stacks: the same steps, each started from the same image on both.

Four ``mfv_lockstep`` workers (:mod:`legacy_caffe.mfv_worker`, the legacy
side of :mod:`parity.comparisons.mfv`) run the reference loop's bookkeeping - its
random stream, octaves and schedules - on the py27 and the bullseye stack,
each with the run's BLAS thread count and with the other one.  At every
zoom and every step the host sends all four the same image; the next
image is bullseye's (the run's thread count), so differences never
accumulate: each step measures what the environment does to one step.

Per step, for a pair of workers ``a``, ``b`` (:class:`StageDiffs`, from
:func:`parity.judges.figures.figures`), max |a - b| of

* ``gradient``: the net's input gradient after the margin mask;
* ``step``: the crop after ``x += step_size / mean|g| * g`` and the clip;
* ``denoise``: the crop after ``denoise_tv_bregman`` (which starts from the
  stepped crops, so a step difference carries into it);
* ``image``: the whole image after the crop is written back;

and per zoom, max |a - b| of ``scipy.ndimage.zoom``'s output.  The pair
py27 - bullseye is set beside each stack's own noise floor, the same stack
with the other BLAS thread count on the same image.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from parity.comparisons.mfv import RunSetup
from parity.comparisons.reference import reference_params
from parity.judges.figures import bitwise_equal, figures
from parity.stacks import LegacyStack, LegacyWorker
from port.mfv.loop import start_images

__all__ = ["EnvLockstep", "EnvStep", "EnvZoom", "StageDiffs", "env_lockstep"]

PY27, BULLSEYE = "py27", "bullseye"
_STAGES = {"gradient": "gradient", "step": "clipped", "denoise": "denoised", "image": "written"}
_SCHEDULE = ("ox", "oy", "step_size", "denoise_weight")


@dataclass(frozen=True)
class StageDiffs:
    """One step on two workers given the same image: max |a - b| of each part (see the module docstring);
    ``gradient_bitwise``: the two input gradients are the same bits."""

    gradient: float
    step: float
    denoise: float
    image: float
    gradient_bitwise: bool


@dataclass(frozen=True)
class EnvStep:
    """One step of the lockstep: py27 against bullseye, and each stack against itself (other thread count).

    ``same_schedule``: all four workers drew the same offsets and computed the same step size and weight."""

    iteration: int
    octave: int
    i: int
    offsets: tuple[int, int]
    same_schedule: bool
    cross: StageDiffs
    py27_floor: StageDiffs
    bullseye_floor: StageDiffs

    @property
    def within_floor(self) -> bool:
        """The image after the step is no further between the stacks than within either stack."""
        return self.cross.image <= max(self.py27_floor.image, self.bullseye_floor.image)


@dataclass(frozen=True)
class EnvZoom:
    """One octave's zoom of the same image: max |py27 - bullseye| and each stack's own floor."""

    octave: int
    scale: float
    cross: float
    py27_floor: float
    bullseye_floor: float
    bitwise: bool


@dataclass(frozen=True)
class EnvLockstep:
    """Every step and zoom of the lockstep between the two stacks."""

    steps: list[EnvStep]
    zooms: list[EnvZoom]

    @property
    def gradients_bitwise(self) -> int:
        """How many steps' input gradients are the same bits on both stacks."""
        return sum(step.cross.gradient_bitwise for step in self.steps)

    @property
    def steps_within_floor(self) -> int:
        return sum(step.within_floor for step in self.steps)

    def worst(self, pair: str) -> StageDiffs:
        """The largest figure of each part over all steps, for ``pair``: ``cross``, ``py27_floor`` or
        ``bullseye_floor`` (``gradient_bitwise``: in every step)."""
        rows = [getattr(step, pair) for step in self.steps]
        return StageDiffs(
            *(max((getattr(row, stage) for row in rows), default=0.0) for stage in _STAGES),
            all(row.gradient_bitwise for row in rows),
        )

    def as_dict(self) -> dict:
        pairs = ("cross", "py27_floor", "bullseye_floor")
        return {
            "steps": len(self.steps),
            "gradients_bitwise": self.gradients_bitwise,
            "steps_within_floor": self.steps_within_floor,
            "worst": {pair: asdict(self.worst(pair)) for pair in pairs},
            "zooms": [asdict(zoom) for zoom in self.zooms],
            "rows": [asdict(step) | {"within_floor": step.within_floor} for step in self.steps],
        }


def _diffs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> StageDiffs:
    maxima = [figures(a[key], b[key], key).max_abs for key in _STAGES.values()]
    return StageDiffs(*maxima, bitwise_equal(a["gradient"], b["gradient"]))


class _Lockstep:
    """The four workers, the image the host carries and what has been measured so far."""

    def __init__(self, workers: dict[tuple[str, int], LegacyWorker], image: np.ndarray, threads: int) -> None:
        self.workers, self.image, self.main, self.other = workers, image, threads, 3 - threads
        self.steps: list[EnvStep] = []
        self.zooms: list[EnvZoom] = []

    def _ask(self, header: dict) -> dict[tuple[str, int], tuple[dict, dict[str, np.ndarray]]]:
        """Send every worker the same request and image, then collect the answers (the workers run side by side)."""
        for worker in self.workers.values():
            worker.send(header, {"image": self.image})
        return {key: worker.receive() for key, worker in self.workers.items()}

    def zoom(self, octave: int, scale: float) -> None:
        zoomed = {key: arrays["zoomed"] for key, (_, arrays) in self._ask({"op": "zoom", "scale": scale}).items()}
        main, other = self.main, self.other
        self.zooms.append(
            EnvZoom(
                octave,
                scale,
                figures(zoomed[PY27, main], zoomed[BULLSEYE, main]).max_abs,
                figures(zoomed[PY27, main], zoomed[PY27, other]).max_abs,
                figures(zoomed[BULLSEYE, main], zoomed[BULLSEYE, other]).max_abs,
                bitwise_equal(zoomed[PY27, main], zoomed[BULLSEYE, main]),
            )
        )
        self.image = zoomed[BULLSEYE, main]

    def step(self, octave: int, i: int) -> bool:
        """One step on all four workers; False when a worker's crop is no longer finite."""
        answers = self._ask({"op": "step", "octave": octave, "i": i})
        headers = {key: header for key, (header, _) in answers.items()}
        arrays = {key: stages for key, (_, stages) in answers.items()}
        main, other = self.main, self.other
        reference = headers[BULLSEYE, main]
        schedule = [reference[field] for field in _SCHEDULE]
        self.steps.append(
            EnvStep(
                len(self.steps),
                octave,
                i,
                (reference["ox"], reference["oy"]),
                all([header[field] for field in _SCHEDULE] == schedule for header in headers.values()),
                _diffs(arrays[PY27, main], arrays[BULLSEYE, main]),
                _diffs(arrays[PY27, main], arrays[PY27, other]),
                _diffs(arrays[BULLSEYE, main], arrays[BULLSEYE, other]),
            )
        )
        self.image = arrays[BULLSEYE, main]["written"]
        return all(header["finite"] for header in headers.values())


def env_lockstep(
    setup: RunSetup, py27: LegacyStack, bullseye: LegacyStack, *, threads: int, progress: bool = True
) -> EnvLockstep:
    """Run ``setup``'s schedule in lockstep on both stacks (``threads`` and ``3 - threads`` BLAS threads each),
    up to its end or the first step whose crop is not finite on any worker."""
    params = reference_params(setup.config, setup.seed, setup.name)
    inputs = {"prototxt": setup.prototxt, "weights": setup.weights}
    _, starts = start_images([setup.seed], [setup.start], setup.net.input_size, setup.net.convention)
    octaves = setup.config.octaves
    with contextlib.ExitStack() as opened:
        workers = {
            (name, n): opened.enter_context(stack.worker("mfv_lockstep", params, inputs, threads=n))
            for name, stack in ((PY27, py27), (BULLSEYE, bullseye))
            for n in (threads, 3 - threads)
        }
        run = _Lockstep(workers, starts[0].numpy(), threads)
        schedule = [(k, i) for k, octave in enumerate(octaves) for i in range(octave.iter_n)]
        for k, i in tqdm(schedule, desc="lockstep py27 vs bullseye", disable=not progress, unit="step"):
            if i == 0 and octaves[k].scale is not None:
                run.zoom(k, octaves[k].scale)
            if not run.step(k, i):
                break
    return EnvLockstep(run.steps, run.zooms)
