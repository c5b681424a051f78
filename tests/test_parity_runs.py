"""Levels 4-5 against the real Caffe: the whole mean preset in lockstep, free runs against the noise floor.

CaffeNet carries deterministic random weights; the generated start is the
legacy loop's own random image (seed 1) and, when ../shared exists, the
original repository's first bell-pepper mean image.
"""

from dataclasses import replace

import pytest
import torch

from parity.comparisons.mfv import LockstepTolerances, RunSetup, lockstep, run_parity
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL, PASS
from parity.stacks import other_blas_core
from port.caffe import Target, save_caffemodel
from port.imaging import load_rgb
from port.mfv.backends import ReferenceOps
from port.mfv.loop import MFVConfig
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet
from tests.attribution_checks import assert_step_evidence
from tests.shared_data import BELL_PEPPER_MEAN_0, needs

pytestmark = pytest.mark.legacy

TOL = Tolerances.load()
STEP_TOL = LockstepTolerances.from_table(TOL.table)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("caffenet") / "random.caffemodel"
    net = caffenet(seed=0)
    save_caffemodel(net, CAFFENET_PROTOTXT, path)
    return path


def setup_for(weights, *, start_path=None, preset_name="mean", scale=None, net=None):
    config = MFVConfig(Target("fc8", 945), preset(preset_name, iterations_scale=scale))
    start = None if start_path is None else load_rgb(start_path)
    return RunSetup(net or caffenet(seed=0), CAFFENET_PROTOTXT, weights, config, 1, start_path, start, "fc8")


def assert_lockstep_holds(section):
    summary = section.as_dict()
    assert summary["offsets_identical"] and summary["schedules_identical"]
    assert all(z.passed for z in section.checks) and len(section.checks) == 2
    for row in section.rows:
        assert_step_evidence(row.as_dict(), STEP_TOL.step)
    assert section.passed


def test_lockstep_whole_mean_preset_from_the_random_start(legacy_stack, weights):
    report, _ = run_parity(setup_for(weights), legacy_stack, mode="lockstep", progress=False)
    section = report.lockstep
    assert len(section.rows) == 370
    assert_lockstep_holds(section)
    assert section.verdicts[PASS] >= 1 and section.rows[0].verdict == PASS
    assert report.verdict.passed


@needs(BELL_PEPPER_MEAN_0)
def test_lockstep_whole_mean_preset_from_the_bell_pepper_mean_image(legacy_stack, weights):
    report, _ = run_parity(
        setup_for(weights, start_path=BELL_PEPPER_MEAN_0), legacy_stack, mode="lockstep", progress=False
    )
    assert len(report.lockstep.rows) == 370
    assert_lockstep_holds(report.lockstep)


def test_attribution_is_no_blanket_excuse(legacy_stack, weights):
    """A port with a wrong conv1 bias, or a per-channel denoiser, must fail its lockstep steps."""
    wrong_net = caffenet(seed=0)
    with torch.no_grad():
        wrong_net.layer("conv1").bias += 1e-2
    run, stepped = lockstep(
        setup_for(weights, scale=0.02, net=wrong_net),
        legacy_stack,
        threads=1,
        ops=ReferenceOps(),
        progress=False,
        stop_after=3,
    )
    assert [row.verdict for row in stepped.rows] == [FAIL] * 3

    class PerChannelOps(ReferenceOps):
        name = "per-channel denoiser"

        def denoise(self, images, weights):
            import numpy as np
            from skimage.restoration import denoise_tv_bregman

            out = [
                denoise_tv_bregman(i, weight=float(w), max_num_iter=100, eps=1e-3, channel_axis=-1)
                for i, w in zip(images.numpy(), weights)
            ]
            return torch.from_numpy(np.stack(out))

    _, stepped = lockstep(
        setup_for(weights, scale=0.02),
        legacy_stack,
        threads=1,
        ops=PerChannelOps(),
        progress=False,
        stop_after=2,
    )
    assert [row.verdict for row in stepped.rows] == [FAIL] * 2
    assert all(row.judgement.same_denoiser_abs > 1e-2 for row in stepped.rows)


def test_free_run_is_judged_against_the_legacy_noise_floor(legacy_stack, weights):
    report, images = run_parity(setup_for(weights), legacy_stack, mode="free", progress=False)
    free = report.free
    assert free.trace.offsets_and_schedules_identical and free.trace.iterations == [370, 370]
    kernel = other_blas_core(legacy_stack.blas_core)
    assert set(images) == {"port", "legacy", "legacy, other thread count", f"legacy, {kernel} kernel"}
    # The kernel axis of the noise floor is real: another OpenBLAS kernel rounds differently, the run parts.
    assert free.kernel_floor.other == kernel and free.kernel_floor.first_divergence is not None
    assert 0 < free.kernel_floor.figures.max_abs
    port, floor = free.port_vs_legacy, free.floor.figures
    # The README's level-5 claim, with the margins of tolerances.json (pinned in test_suite_rules.py) written out:
    # the port is no further from legacy than legacy with 2 BLAS threads is from legacy with 1.
    assert port.psnr_db >= floor.psnr_db - 1.0 and port.within_one >= floor.within_one - 0.05
    # ... and both near the README's figures (~30 dB, ~1/3 of values within one grey level; measured here
    # 29.6 and 29.5 dB, 32.8% and 32.8%), not merely finite images.
    assert min(port.psnr_db, floor.psnr_db) > 28 and min(port.within_one, floor.within_one) > 0.25
    first = free.first_divergence
    assert first.iteration is not None and first.iteration < 370
    replayed = report.lockstep_replay.rows
    assert replayed and any(row.verdict != PASS for row in replayed) == ("no single event" not in first.cause)
    # The first divergence is attributed to an event of the replay, never left unexplained. Which event comes
    # first depends on the CPU's rounding in the port's kernels: on this project's AMD machines pool ties
    # (measured: pool1 and pool2 at iteration 3, pool1 at 5), on another CPU possibly a ReLU flip or a
    # denoiser stop first, so the test takes the events the replay found. Each pool tie is a near-tie that
    # the port resolves the other way, its own pick the larger of the two values, and the two values closer
    # than forward parity lets the stacks differ (see PoolTie.blob_relative_gap).
    explained = ("max-pool argmax flip", "ReLU sign flip", "denoising difference", "no single event")
    assert "unexplained" not in first.cause and any(event in first.cause for event in explained), first.cause
    ties = [tie for row in replayed for tie in row.judgement.ties]
    forward_rel = Tolerances.load().table["forward"]["default"]["max_rel"]
    for tie in ties:
        own, other = tie.port_values
        assert tie.port_index != tie.legacy_index and own >= other and tie.blob_relative_gap <= 2 * forward_rel
    assert free.floor.within_floor and free.within_floor and report.verdict.passed
    assert "port WITHIN the legacy noise floor" in report.verdict.summary


def test_center_bias_preset_on_both_stacks_reports_the_nan(legacy_stack, weights):
    """Random CaffeNet's softmax is saturated from the start: mean|g| = 0, and the 2016 step divides by it."""
    report, _ = run_parity(
        setup_for(weights, preset_name="center", scale=0.05), legacy_stack, mode="free", floor=False, progress=False
    )
    non_finite = report.free.non_finite
    assert non_finite["port"] and non_finite["legacy"]
    assert non_finite["port"].split(":")[0] == non_finite["legacy"].split(":")[0]
    assert "mean |g| = 0" in non_finite["port"]
    assert report.free.trace.offsets_and_schedules_identical


def test_center_bias_preset_without_legacy_quirks_stays_finite(weights):
    from port.mfv.loop import run_mfv

    config = replace(setup_for(weights, preset_name="center", scale=0.05).config, legacy=False)
    (run,) = run_mfv(caffenet(seed=0), config, [1], progress=False)
    assert run.first_non_finite is None and all(row.guarded for row in run.trace[:3])
