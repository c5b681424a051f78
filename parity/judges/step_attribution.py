"""Why one MFV step differs between two computations of it, proved stage by stage, or a failure.

Two computations of the same step on the same crop - the port against
Caffe (lockstep parity), or the port alone against the port in a batch -
are compared stage by stage: the gradient (``max_rel``), the stepped,
clipped and denoised crops (``max_abs``, grey levels).  A step whose
stages all agree within tolerance passes.  Otherwise the port (the
*subject*) is made to follow the *reference* and every later stage must
come back, so that a difference is excused only by what is shown:

1. gradient beyond ``gradient_rel``: the discrete choices the two made
   differently are listed - max-pool windows whose argmax differs
   (``pool-tie``) and ReLU units on in one and off in the other
   (``relu-sign``) - and the subject's gradient, recomputed through the
   reference's choices, must come within ``gradient_rel``.  No such
   choice, or no agreement after following them: ``fail``.
2. the subject's own step (:func:`port.mfv.step.gradient_ascent`) from
   that gradient must reproduce the reference's stepped and clipped crops
   within ``stepped_abs``: a wrong step size, |g| norm or clip range fails
   here, whatever the denoiser does afterwards.
3. the subject's denoiser on that clipped crop must reproduce the
   reference's denoised crop within ``denoised_abs``; if it does not, the
   difference is the denoiser's stopping rule (``denoiser``) only when the
   subject's denoiser applied to the reference's own clipped crop gives
   the reference's denoised crop (within ``same_denoiser_abs``: one
   function) and split Bregman stops after a different number of
   iterations on the two inputs (the iteration counts are scikit-image's:
   :func:`port.ops.tv_bregman` counts as it does).  Otherwise ``fail``.

The verdict joins the causes found, e.g. ``pool-tie+denoiser``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from parity.judges.choices import Choices, differing_choices, gradient_through
from parity.judges.figures import figures
from parity.judges.pool_ties import PoolTie
from parity.judges.stages import Stage, stage_figures, within_tolerance
from parity.judges.verdict import DENOISER, FAIL, PASS, POOL_TIE, RELU_SIGN
from port.caffe import CaffeNetwork, Target
from port.imaging import CAFFE
from port.mfv.backends import TV_EPS, TV_MAX_ITER, LoopOps
from port.mfv.step import StepStages, gradient_ascent, mask_margin
from port.ops import tv_bregman

MFV_STAGES = (
    Stage("gradient", "max_rel", "gradient_rel"),
    Stage("stepped", "max_abs", "stepped_abs"),
    Stage("clipped", "max_abs", "stepped_abs"),
    Stage("denoised", "max_abs", "denoised_abs"),
)
STAGES = tuple(stage.name for stage in MFV_STAGES)


@dataclass(frozen=True)
class StepTolerances:
    """Per-step limits: ``gradient_rel`` relative, the rest in grey levels (0..255)."""

    gradient_rel: float
    stepped_abs: float
    denoised_abs: float
    same_denoiser_abs: float

    @classmethod
    def from_entry(cls, entry: Mapping[str, float]) -> StepTolerances:
        return cls(entry["gradient_rel"], entry["stepped_abs"], entry["denoised_abs"], entry["same_denoiser_abs"])


@dataclass(frozen=True)
class Stages:
    """One crop's four stages, (3, H, W) float32 arrays (BGR minus the mean; the gradient in its units)."""

    gradient: np.ndarray
    stepped: np.ndarray
    clipped: np.ndarray
    denoised: np.ndarray

    @classmethod
    def of(cls, stages: StepStages, n: int) -> Stages:
        """Crop ``n`` of a batch step's stages."""
        return cls(*(getattr(stages, name)[n].detach().cpu().numpy() for name in STAGES))


@dataclass(frozen=True)
class StepInputs:
    """What the subject needs to redo one step of one crop: the net, the crop (1, 3, H, W), the
    target and the step's parameters, the loop ops and the legacy switch."""

    net: CaffeNetwork
    crop: torch.Tensor
    target: Target
    margin: int
    step_size: float
    denoise_weight: float
    ops: LoopOps
    legacy: bool


@dataclass
class Judgement:
    """The figures of one step and its verdict; ``followed_*`` are the subject's stages after
    following the reference's choices, ``iterations`` split Bregman's counts (subject, reference)."""

    gradient_rel: float
    stepped_abs: float
    clipped_abs: float
    denoised_abs: float
    verdict: str = PASS
    ties: list[PoolTie] = field(default_factory=list)
    relu_flips: list[dict] = field(default_factory=list)
    gradient_rel_forced: float | None = None
    followed_stepped_abs: float | None = None
    followed_clipped_abs: float | None = None
    followed_denoised_abs: float | None = None
    same_denoiser_abs: float | None = None
    iterations: tuple[int, int] | None = None

    def as_dict(self) -> dict:
        row = {k: v for k, v in asdict(self).items() if k != "ties"}
        return row | {"ties": [t.as_dict() for t in self.ties]}


def compare_stages(reference: Stages, subject: Stages) -> Judgement:
    """The four stage figures of ``subject`` against ``reference``, verdict not yet decided."""
    return Judgement(**stage_figures(MFV_STAGES, reference.__dict__, subject.__dict__))


def judge_step(
    inputs: StepInputs,
    reference: Stages,
    subject: Stages,
    reference_choices: Callable[[], Choices],
    tol: StepTolerances,
) -> Judgement:
    """Compare, then attribute a difference as the module docstring says; ``reference_choices`` is
    called only when the gradients differ."""
    row = compare_stages(reference, subject)
    if within_tolerance(MFV_STAGES, row.__dict__, tol.__dict__):
        return row
    return attribute_step(row, inputs, reference, subject, reference_choices, tol)


def attribute_step(
    row: Judgement,
    inputs: StepInputs,
    reference: Stages,
    subject: Stages,
    reference_choices: Callable[[], Choices],
    tol: StepTolerances,
) -> Judgement:
    """Attribute the difference of a step whose stages (``row``, measured) are not all within tolerance, as
    the module docstring says, or fail it; ``reference_choices`` is called only when the gradients differ."""
    causes: list[str] = []
    gradient = torch.from_numpy(subject.gradient)[None].to(inputs.crop.device)
    if row.gradient_rel > tol.gradient_rel:
        forced = _follow_choices(row, inputs, reference_choices(), reference.gradient)
        if forced is None or row.gradient_rel_forced > tol.gradient_rel:
            row.verdict = FAIL
            return row
        gradient = forced
        causes += [cause for cause, found in ((POOL_TIE, row.ties), (RELU_SIGN, row.relu_flips)) if found]
    ascent = gradient_ascent(inputs.crop, gradient, [inputs.step_size], inputs.legacy, CAFFE)
    clipped = ascent.clipped[0].cpu().numpy()
    row.followed_stepped_abs = figures(reference.stepped, ascent.stepped[0].cpu().numpy(), "stepped").max_abs
    row.followed_clipped_abs = figures(reference.clipped, clipped, "clipped").max_abs
    if max(row.followed_stepped_abs, row.followed_clipped_abs) > tol.stepped_abs:
        row.verdict = FAIL
        return row
    denoised = _denoise(inputs, clipped)
    row.followed_denoised_abs = figures(reference.denoised, denoised, "denoised").max_abs
    if row.followed_denoised_abs > tol.denoised_abs:
        row.same_denoiser_abs = figures(reference.denoised, _denoise(inputs, reference.clipped), "denoised").max_abs
        row.iterations = (
            stop_iteration(clipped, inputs.denoise_weight),
            stop_iteration(reference.clipped, inputs.denoise_weight),
        )
        if row.same_denoiser_abs > tol.same_denoiser_abs or row.iterations[0] == row.iterations[1]:
            row.verdict = FAIL
            return row
        causes.append(DENOISER)
    row.verdict = "+".join(causes) if causes else PASS
    return row


def stop_iteration(clipped: np.ndarray, weight: float) -> int:
    """After how many iterations scikit-image's split Bregman stops on a clipped crop (3, H, W)."""
    rgb = CAFFE.to_rgb64(torch.from_numpy(clipped)[None])[0]
    run = tv_bregman(rgb, weight, max_num_iter=TV_MAX_ITER, eps=TV_EPS, return_iterations=True)
    return int(run.iterations)


def _denoise(inputs: StepInputs, clipped: np.ndarray) -> np.ndarray:
    rgb = CAFFE.to_rgb64(torch.from_numpy(clipped)[None].to(inputs.crop.device))
    return CAFFE.from_rgb64(inputs.ops.denoise(rgb, [inputs.denoise_weight]))[0].cpu().numpy()


def _follow_choices(
    row: Judgement, inputs: StepInputs, reference: Choices, reference_gradient: np.ndarray
) -> torch.Tensor | None:
    """List the choices that differ; the subject's gradient through the reference's choices (None if
    nothing differs, which leaves the gradient difference unexplained)."""
    row.ties, row.relu_flips = differing_choices(inputs.net, inputs.crop, inputs.target.layer, reference)
    if not (row.ties or row.relu_flips):
        return None
    forced = mask_margin(gradient_through(inputs.net, inputs.crop, inputs.target, reference), inputs.margin)
    row.gradient_rel_forced = figures(reference_gradient, forced[0].cpu().numpy(), "gradient").max_rel
    return forced
