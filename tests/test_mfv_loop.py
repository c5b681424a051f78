"""The port's MFV loop without Caffe: schedules, presets, offsets, the step's guard, batching, outputs."""

import numpy as np
import pytest
import torch
from PIL import Image

from legacy_caffe import mfv_reference
from port.caffe import Target
from port.imaging import preprocess, random_start
from port.mfv.backends import ReferenceOps, TorchOps
from port.mfv.crops import draw_offsets
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.outputs import legacy_jpeg_name, legacy_uint8, read_trace, write_run
from port.mfv.presets import load_presets, preset
from port.mfv.schedules import denoise_weight, py2_div, step_size
from port.mfv.step import mfv_step
from port.models import caffenet
from port.ops import tv_bregman


@pytest.fixture(scope="module")
def net():
    return caffenet(seed=0)


def test_python2_division():
    assert py2_div(7, 2) == 3 and py2_div(-7, 2) == -4
    assert py2_div(7.0, 2) == 3.5 and py2_div(7, 2.0) == 3.5


def test_legacy_schedules_reproduce_the_originals_quirks():
    first = preset("mean")[0]
    assert [step_size(first, i, legacy=True) for i in (0, 95, 189)] == [1.0, 1.0, 1.0]
    assert denoise_weight(first, 0, legacy=True) == pytest.approx(0.39789, abs=1e-5)
    assert denoise_weight(first, 189, legacy=True) == pytest.approx(0.79579, abs=1e-5)
    assert step_size(first, 95, legacy=False) == 1.5
    assert denoise_weight(preset("mean")[1], 75, legacy=False) == pytest.approx(0.01 + 1.99 / 2)


@pytest.mark.parametrize("name", ["mean", "center"])
def test_schedules_match_the_reference_implementation(name):
    for octave in preset(name):
        spec = octave.as_dict()
        for i in range(octave.iter_n):
            assert (step_size(octave, i, True), denoise_weight(octave, i, True)) == mfv_reference.schedule(spec, i)


def test_presets_are_the_papers_tables_with_their_number_types():
    presets = load_presets()
    assert [o.iter_n for o in presets["mean"]] == [190, 150, 20, 10]
    assert [o.iter_n for o in presets["center"]] == [190, 150, 150, 30, 10]
    assert [o.layer for o in presets["center"]] == ["prob", "prob", "fc8", "fc8", "fc8"]
    assert all(isinstance(v, int) for v in presets["mean"][0].step)
    assert all(isinstance(v, float) for v in presets["mean"][1].step)
    assert [o.scale for o in presets["mean"]] == [None, 1.2, 1.0, None]


def test_offsets_draw_two_normals_only_when_the_image_is_larger():
    a, b = np.random.RandomState(3), np.random.RandomState(3)
    assert draw_offsets(a, (227, 227), (227, 227), 0.3) == (0, 0)
    assert a.normal() == b.normal()
    offsets = [draw_offsets(a, (272, 272), (227, 227), 0.3) for _ in range(200)]
    expected = [mfv_reference.draw_offsets(b, (272, 272), (227, 227), 0.3) for _ in range(200)]
    assert offsets == expected and all(0 <= o <= 45 for pair in offsets for o in pair)


def test_zero_gradient_is_nan_in_legacy_mode_and_guarded_otherwise(net):
    crops = torch.from_numpy(preprocess(random_start(1).astype(np.float32))[None])
    target = Target("prob", 945)  # random CaffeNet's softmax is saturated here: p[945] is 0 in float32
    legacy, records, _ = mfv_step(net, crops, target, 0, [11.0], [0.01], ReferenceOps(), legacy=True)
    assert records[0].mean_abs_grad == 0.0 and torch.isnan(legacy).all()
    guarded, records, stages = mfv_step(net, crops, target, 0, [11.0], [0.01], ReferenceOps(), legacy=False)
    assert records[0].guarded and torch.isfinite(guarded).all()
    assert torch.equal(stages.stepped, crops)


def test_margin_zeroes_the_gradient_outside_the_window(net):
    crops = torch.from_numpy(np.random.RandomState(0).normal(0, 30, (1, 3, 227, 227)).astype(np.float32))
    _, _, stages = mfv_step(net, crops, Target("fc8", 1), 50, [2.0], [0.1], ReferenceOps(), legacy=True)
    g = stages.gradient[0]
    assert g[:, :50].abs().max() == 0 and g[:, :, 177:].abs().max() == 0 and g[:, 50:177, 50:177].abs().max() > 0


def test_a_batch_of_runs_draws_each_runs_own_crops(net):
    config = MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=0.02))
    batched = run_mfv(net, config, [1, 2], progress=False)
    single = run_mfv(net, config, [2], progress=False)[0]
    assert [(r.ox, r.oy) for r in batched[1].trace] == [(r.ox, r.oy) for r in single.trace]
    assert [(r.ox, r.oy) for r in batched[0].trace] != [(r.ox, r.oy) for r in single.trace]
    assert batched[1].trace[0].target_act == pytest.approx(single.trace[0].target_act, rel=1e-5)


def test_outputs_follow_the_legacy_conventions(net, tmp_path):
    assert legacy_jpeg_name("fc8", 945) == "fc8_0945.jpg" and legacy_jpeg_name("x", 12345) == "x_12345.jpg"
    assert legacy_uint8(np.array([254.9, 0.5, 17.0])).tolist() == [254, 0, 17]
    config = MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=0.02))
    (run,) = run_mfv(net, config, [4], progress=False)
    out = write_run(tmp_path / "run", run, name="fc8", unit=945, info={"note": "test"})
    assert sorted(p.name for p in out.iterdir()) == [
        "activation.png",
        "fc8_0945.jpg",
        "final.npy",
        "final.png",
        "mfv-output.json",
        "run.json",
        "trace.csv",
    ]
    final = np.load(out / "final.npy")
    assert final.shape == (272, 272, 3) and final.dtype == np.float32
    assert np.array_equal(np.asarray(Image.open(out / "final.png")), legacy_uint8(final))
    rows = read_trace(out / "trace.csv")
    assert [r["ox"] for r in rows] == [r.ox for r in run.trace] and rows[0]["layer"] == "fc8"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_start_image_of_the_wrong_size_is_a_clear_error(net):
    config = MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=0.02))
    with pytest.raises(ValueError, match="start image has shape"):
        run_mfv(net, config, [1], [np.zeros((100, 100, 3), np.float32)], progress=False)


def test_torch_ops_pass_a_nan_image_on_and_denoise_the_others():
    """As scikit-image did in the legacy loop: NaN goes on (and the loop stops that run), the rest is denoised."""
    images = torch.from_numpy(np.random.RandomState(0).uniform(0, 255, (3, 20, 21, 3)))
    images[1, 3, 4, 0] = float("nan")
    out = TorchOps().denoise(images, [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(out[1].numpy(), images[1].numpy())
    for n, w in ((0, 0.1), (2, 0.3)):
        np.testing.assert_array_equal(out[n].numpy(), tv_bregman(images[n].numpy(), w))
