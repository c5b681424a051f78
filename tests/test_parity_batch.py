"""Batched MFV runs: ten facets in one batch against each facet alone (lockstep), and against legacy Caffe."""

import numpy as np
import pytest
import torch

from mfv_cli.main import main
from parity.comparisons.batch import batch_free_run, batch_lockstep
from port.caffe import CaffeNetwork, Target, read_prototxt, save_caffemodel
from port.mfv.backends import TorchOps
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet
from tests.attribution_checks import assert_step_evidence

SEEDS = list(range(1, 11))


@pytest.fixture(scope="module")
def net():
    return caffenet(seed=0)


def config(scale):
    return MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=scale))


def test_ten_facets_in_one_batch_are_judged_step_by_step_against_ten_single_runs(net):
    """Every step of a 10-image batch, each crop re-stepped alone from the same crop: each image's step
    passes within 1e-3 grey levels or its difference is proved to come from a pool tie, a ReLU sign flip
    or the denoiser's stopping rule.  How many steps are bitwise equal depends on the BLAS kernels the
    machine picks per batch size, so it is reported, not asserted."""
    cfg = config(0.1)
    runs, report = batch_lockstep(net, cfg, SEEDS, None, TorchOps())
    iterations = sum(o.iter_n for o in cfg.octaves)
    assert report.facets == 10 and report.iterations == iterations and len(report.steps) == 10 * iterations
    assert all(step.batch == 10 for step in report.steps)
    assert sorted({step.run for step in report.steps}) == list(range(10))
    for step in report.steps:
        assert_step_evidence(step.judgement.as_dict(), report.tolerances)
    assert report.max_zoom_abs <= 1e-4 and report.passed, report.summary
    assert len({run.image.tobytes() for run in runs}) == 10


class PerImageNet(CaffeNetwork):
    """CaffeNet computing each image of a batch on its own: batch-invariant by construction."""

    def run(self, inputs, **kwargs):
        traces = [super(PerImageNet, self).run(inputs[n : n + 1], **kwargs) for n in range(inputs.shape[0])]
        joined = type(traces[0])()
        for name in traces[0].blobs:
            joined.blobs[name] = torch.cat([t.blobs[name] for t in traces])
        return joined


def test_the_loop_adds_no_batch_dependence_of_its_own():
    """With a net that computes each image alone, a batched run equals its single runs bit for bit: the
    random streams, crops, write-backs, the step's elementwise arithmetic and the CPU denoiser (each
    image's own iteration, the same operations) do not depend on the batch.  Only the net's sums may."""
    per_image = PerImageNet(read_prototxt(CAFFENET_PROTOTXT))
    per_image.load_state_dict(caffenet(seed=0).state_dict())
    cfg = config(0.03)
    batched = run_mfv(per_image, cfg, [3, 4, 5], progress=False)
    for run in batched:
        (alone,) = run_mfv(per_image, cfg, [run.seed], progress=False)
        assert [(r.ox, r.oy) for r in run.trace] == [(r.ox, r.oy) for r in alone.trace]
        np.testing.assert_array_equal(run.image, alone.image)


def test_batch_lockstep_catches_an_op_that_depends_on_the_batch(net):
    class BatchDependentOps(TorchOps):
        def denoise(self, images, weights):
            out = super().denoise(images, weights)
            return out + 1e-2 if images.shape[0] > 1 else out

    _, report = batch_lockstep(net, config(0.02), [1, 2], None, BatchDependentOps())
    assert not report.passed and set(report.verdicts) == {"fail"}
    assert all(step.judgement.same_denoiser_abs == pytest.approx(1e-2, rel=1e-2) for step in report.steps)


@pytest.mark.legacy
def test_batched_facets_are_within_the_legacy_noise_floor(legacy_stack, net, tmp_path):
    """Each facet of a batched port run against legacy Caffe running it alone, beside legacy's own spread.

    Half the mean preset (185 steps): long enough for every pair of runs to
    have parted (the loop is chaotic), so the verdict compares spreads.
    """
    weights = tmp_path / "random.caffemodel"
    save_caffemodel(net, CAFFENET_PROTOTXT, weights)
    seeds = [1, 2, 3]
    result = batch_free_run(
        net,
        CAFFENET_PROTOTXT,
        weights,
        config(0.5),
        seeds,
        [None] * 3,
        [None] * 3,
        legacy_stack,
        TorchOps(),
        name="fc8",
    )
    assert len(result["facets"]) == 3
    assert all(facet["trace"]["offsets_and_schedules_identical"] for facet in result["facets"])
    floor = result["median"]["noise_floor"]
    assert 15 < floor["psnr_db"] < 60, "runs this long should have parted, but not beyond recognition"
    assert result["within_floor"] and result["pass"], result["summary"]


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@CUDA
def test_loop_on_cuda_follows_the_cpu_run():
    """The loop runs on the net's device: same crops as on the CPU, the first step's activations alike."""
    cfg = config(0.05)
    cpu = run_mfv(caffenet(seed=0), cfg, [1, 2], progress=False)
    cuda = run_mfv(caffenet(seed=0).to("cuda"), cfg, [1, 2], progress=False)
    for a, b in zip(cpu, cuda):
        assert [(r.ox, r.oy) for r in a.trace] == [(r.ox, r.oy) for r in b.trace]
        assert b.trace[0].target_act == pytest.approx(a.trace[0].target_act, rel=1e-4)
        assert np.isfinite(b.image).all()


@CUDA
def test_ten_facets_in_one_batch_on_cuda_step_like_ten_single_runs():
    _, report = batch_lockstep(caffenet(seed=0).to("cuda"), config(0.1), SEEDS, None, TorchOps())
    assert report.passed, report.summary


def test_visualize_on_a_missing_device_is_a_clear_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["visualize", "--unit", "945", "--device", "cuda", "--out", str(tmp_path / "out")])
    assert code == 2 and "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
