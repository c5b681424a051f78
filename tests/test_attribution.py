"""The step judge (parity.judges.step_attribution) against a stand-in legacy side: no Caffe needed.

The stand-in is the legacy step of ``tests/numpy_mfv.spec_step``, written plainly in numpy and scikit-image
from docs/legacy-spec.md (section 3): ``x += step / mean|g| * g`` with numpy 1.x's
float64 coefficient applied in float32, each channel clipped to
``[-mean_c, 255 - mean_c]``, deprocessed to float64 RGB and denoised with
``skimage.restoration.denoise_tv_bregman`` jointly over the channels.  It
takes the gradient from the port's net, which the stand-in uses as a black
box.  A port whose step is wrong must be judged ``fail`` however its
denoiser behaves; a gradient difference is excused only when following the
reference's choices reproduces it.
"""

import numpy as np
import pytest
import torch

import parity.judges.step_attribution
import port.mfv.step
from parity.judges.choices import Choices, port_choices
from parity.judges.step_attribution import FAIL, PASS, POOL_TIE, Stages, StepInputs, StepTolerances, judge_step
from parity.judges.tolerances import Tolerances
from port.caffe import Target, input_gradient
from port.imaging import CAFFE_MEAN_BGR, preprocess, random_start
from port.mfv.backends import TorchOps
from port.mfv.step import Ascent, gradient_ascent, mfv_step
from port.models import caffenet
from tests.attribution_checks import assert_step_evidence
from tests.numpy_mfv import spec_step

TARGET = Target("fc8", 945)
STEP_SIZE, WEIGHT = 1.0, 0.4
TOL = StepTolerances.from_entry(Tolerances.load().table["lockstep"])


@pytest.fixture(scope="module")
def net():
    return caffenet(seed=0)


@pytest.fixture(scope="module")
def crop():
    """The legacy random start with a saturated patch, so that the clip range matters."""
    rgb = random_start(1)
    rgb[40:90, 40:90] = 254.5
    return torch.from_numpy(preprocess(rgb))[None]


def stand_in_step(crop: np.ndarray, gradient: np.ndarray, step_size: float, weight: float) -> Stages:
    """The legacy step, written from the spec (``tests/numpy_mfv.py``), as judged stages."""
    step = spec_step(crop, gradient, 0, step_size, weight)
    return Stages(step.gradient, step.stepped, step.clipped, step.denoised)


def judge(net, crop, reference, choices=None):
    inputs = StepInputs(net, crop, TARGET, 0, STEP_SIZE, WEIGHT, TorchOps(), True)
    _, _, stages = mfv_step(net, crop, TARGET, 0, [STEP_SIZE], [WEIGHT], inputs.ops, True)
    own = lambda: port_choices(net, crop, TARGET.layer)  # noqa: E731
    return judge_step(inputs, reference, Stages.of(stages, 0), choices or own, TOL)


def reference_for(net, crop):
    gradient = input_gradient(net, crop, TARGET)[0].numpy()
    return stand_in_step(crop[0].numpy(), gradient, STEP_SIZE, WEIGHT)


def test_the_port_agrees_with_the_stand_in(net, crop):
    row = judge(net, crop, reference_for(net, crop))
    assert row.verdict == PASS, row
    assert row.clipped_abs < 1e-3 and row.denoised_abs < 1e-3
    assert_step_evidence(row.as_dict(), TOL)


def mutated(ascent_of):
    """A port whose step is ``ascent_of(crops, grad, step_sizes, legacy, convention)``, in the loop and in the judge."""

    def apply(monkeypatch):
        monkeypatch.setattr(port.mfv.step, "gradient_ascent", ascent_of)
        monkeypatch.setattr(parity.judges.step_attribution, "gradient_ascent", ascent_of)

    return apply


def _twice_the_step(crops, grad, step_sizes, legacy, convention):
    return gradient_ascent(crops, grad, [2 * s for s in step_sizes], legacy, convention)


def _divided_by_max(crops, grad, step_sizes, legacy, convention):
    scale = grad.abs().double().mean(dim=(1, 2, 3)) / grad.abs().double().amax(dim=(1, 2, 3))
    return gradient_ascent(crops, grad, [s * float(k) for s, k in zip(step_sizes, scale)], legacy, convention)


def _clipped_to_254(crops, grad, step_sizes, legacy, convention):
    right = gradient_ascent(crops, grad, step_sizes, legacy, convention)
    mean = torch.from_numpy(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    return Ascent(right.stepped, torch.clamp(right.stepped, -mean, 254 - mean), right.mean_abs_grad, right.guarded)


@pytest.mark.parametrize(
    "ascent_of", [_twice_the_step, _divided_by_max, _clipped_to_254], ids=["step x2", "max |g|", "clip at 254"]
)
def test_a_wrong_step_fails_whatever_the_denoiser_does(net, crop, monkeypatch, ascent_of):
    reference = reference_for(net, crop)
    mutated(ascent_of)(monkeypatch)
    row = judge(net, crop, reference)
    assert row.verdict == FAIL, row
    assert row.gradient_rel <= TOL.gradient_rel, "the gradient is right: the step is what is wrong"
    assert max(row.followed_stepped_abs, row.followed_clipped_abs) > TOL.stepped_abs


def _nearest_tie_flipped(net, crop) -> Choices:
    """A reference whose pool5 took, in the positive window with the closest two largest values, the
    second largest: a near-tie decided the other way, and the ReLU pattern that follows from it."""
    with torch.no_grad():
        trace = net.run(crop, end=TARGET.layer)
    bottom = trace.blobs[net.step("pool5").bottoms[0]][0].numpy()
    argmax = trace.pool_argmax["pool5"].numpy().copy()
    geometry = net.layer("pool5").geom
    best = None
    for c, i, j in np.argwhere(trace.blobs["pool5"][0].numpy() > 0):
        rows = slice(i * geometry.stride[0], i * geometry.stride[0] + geometry.kernel[0])
        cols = slice(j * geometry.stride[1], j * geometry.stride[1] + geometry.kernel[1])
        window = bottom[c, rows, cols]
        order = np.argsort(window, axis=None)
        gap = window.flat[order[-1]] - window.flat[order[-2]]
        if best is None or gap < best[0]:
            r, q = np.unravel_index(order[-2], window.shape)
            best = (gap, c, i, j, (rows.start + r) * bottom.shape[-1] + cols.start + q)
    _, c, i, j, second = best
    argmax[0, c, i, j] = second
    forced = {"pool5": torch.from_numpy(argmax)}
    with torch.no_grad():
        flipped = net.run(crop, end=TARGET.layer, pool_argmax=forced)
    relus = {s.name: (flipped.blobs[s.tops[0]] > 0).numpy() for s in net.steps if s.type == "ReLU"}
    own = port_choices(net, crop, TARGET.layer)
    return Choices(own.pool_argmax | {"pool5": argmax}, {k: v for k, v in relus.items() if k in own.relu_active})


def test_a_gradient_difference_is_a_pool_tie_only_when_following_the_reference_reproduces_it(net, crop):
    choices = _nearest_tie_flipped(net, crop)
    forced = input_gradient(
        net,
        crop,
        TARGET,
        pool_argmax={k: torch.from_numpy(v) for k, v in choices.pool_argmax.items()},
        relu_active={k: torch.from_numpy(v) for k, v in choices.relu_active.items()},
    )[0].numpy()
    reference = stand_in_step(crop[0].numpy(), forced, STEP_SIZE, WEIGHT)
    row = judge(net, crop, reference, lambda: choices)
    assert row.gradient_rel > TOL.gradient_rel and row.gradient_rel_forced <= TOL.gradient_rel
    assert [t.layer for t in row.ties] == ["pool5"]
    assert row.verdict.split("+")[0] == POOL_TIE, row
    assert_step_evidence(row.as_dict(), TOL)

    off = stand_in_step(crop[0].numpy(), forced * np.float32(1.001), STEP_SIZE, WEIGHT)
    row = judge(net, crop, off, lambda: choices)
    assert row.verdict == FAIL and row.gradient_rel_forced > TOL.gradient_rel


def test_a_gradient_difference_with_no_differing_choice_fails(net, crop):
    gradient = input_gradient(net, crop, TARGET)[0].numpy()
    reference = stand_in_step(crop[0].numpy(), gradient * np.float32(1.001), STEP_SIZE, WEIGHT)
    row = judge(net, crop, reference)
    assert row.verdict == FAIL and not row.ties and not row.relu_flips and row.gradient_rel_forced is None
