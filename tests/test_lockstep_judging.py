"""Lockstep against the real Caffe judges the port's loop, not only its net: a port that cuts its crops
at the wrong place, or steps twice as far, fails, whatever its net and denoiser do."""

import pytest

import parity.judges.step_attribution
import port.mfv.loop
import port.mfv.step
from parity.comparisons.mfv import LockstepTolerances, RunSetup, lockstep
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL
from port.caffe import Target, save_caffemodel
from port.mfv.backends import TorchOps
from port.mfv.crops import crop_at
from port.mfv.loop import MFVConfig
from port.mfv.presets import preset
from port.mfv.step import gradient_ascent
from port.models import CAFFENET_PROTOTXT, caffenet

pytestmark = pytest.mark.legacy

TOL = LockstepTolerances.from_table(Tolerances.load().table)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    weights = tmp_path_factory.mktemp("caffenet") / "random.caffemodel"
    net = caffenet(seed=0)
    save_caffemodel(net, CAFFENET_PROTOTXT, weights)
    config = MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=0.02))
    return RunSetup(net, CAFFENET_PROTOTXT, weights, config, 1, None, None, "fc8")


def run_lockstep(setup, legacy_stack):
    _, stepped = lockstep(setup, legacy_stack, threads=1, ops=TorchOps(), progress=False)
    return stepped.rows


def test_the_port_passes_these_steps(setup, legacy_stack):
    steps = run_lockstep(setup, legacy_stack)
    assert steps and all(row.verdict != FAIL and row.crop_equal for row in steps)
    assert all(row.written_abs == row.judgement.denoised_abs for row in steps)


def test_crops_cut_at_swapped_offsets_fail(setup, legacy_stack, monkeypatch):
    monkeypatch.setattr(port.mfv.loop, "crop_at", lambda image, at, shape: crop_at(image, at[::-1], shape))
    steps = run_lockstep(setup, legacy_stack)
    swapped = [row for row in steps if row.port_offsets[0] != row.port_offsets[1]]
    assert swapped, "the zoomed octaves draw offsets that differ"
    assert all(row.verdict == FAIL and not row.crop_equal for row in swapped)


def test_a_step_twice_too_large_fails(setup, legacy_stack, monkeypatch):
    def twice(crops, grad, step_sizes, legacy, convention):
        return gradient_ascent(crops, grad, [2 * s for s in step_sizes], legacy, convention)

    monkeypatch.setattr(port.mfv.step, "gradient_ascent", twice)
    monkeypatch.setattr(parity.judges.step_attribution, "gradient_ascent", twice)
    steps = run_lockstep(setup, legacy_stack)
    assert steps and all(row.verdict == FAIL for row in steps)
    followed = [row.judgement.followed_stepped_abs for row in steps if row.judgement.followed_stepped_abs is not None]
    assert followed and min(followed) > TOL.step.stepped_abs
