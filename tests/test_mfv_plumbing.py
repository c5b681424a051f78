"""The MFV loop's plumbing on a small net, without Caffe: fixed cases, and the port's loop against an
independent numpy loop (tests/numpy_mfv.py).

Both loops get the same net as a black box for gradients; everything else -
random stream, crops and their write-back, pre/deprocess, margin, step
coefficient, clip, denoise, zoom and the legacy schedules - is computed twice,
by code that shares nothing.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from port.caffe import Target, fill_random, input_gradient, load_net
from port.imaging import deprocess, preprocess
from port.mfv.backends import ReferenceOps, TorchOps
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import Octave, preset
from port.mfv.step import mfv_step
from port.models import caffenet
from tests.numpy_mfv import numpy_mfv

NET = Path(__file__).parent / "nets" / "tiny_mfv.prototxt"
CROP = (24, 20)
LAYER, UNIT = "fc", 3
# The mean preset's four octaves in miniature, quirks kept: int step ends (floor division), the
# original's denoise-weight formula, a zoom of 1.2 (24 x 20 -> 29 x 24: random crops), a zoom of 1.0, a margin.
OCTAVES = (
    Octave(None, None, 3, 0, 0.3, (1, 2), (0.4, 0.4)),
    Octave(None, 1.2, 5, 0, 0.3, (1.0, 1.0), (0.01, 2)),
    Octave(None, 1.0, 3, 4, 0.2, (2.0, 2.0), (0.1, 2)),
    Octave(None, None, 2, 0, 0.3, (2.0, 2.0), (0.4, 2)),
)


@pytest.fixture(scope="module")
def net():
    return fill_random(load_net(NET), 5)


def black_box(net):
    """The net as the numpy loop sees it: crop -> (the layer's top, d top[unit] / d crop)."""

    def gradient(crop: np.ndarray, layer: str, unit: int) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(crop[None])
        with torch.no_grad():
            top = net.run(x, end=layer).blobs[net.step(layer).tops[0]][0].numpy()
        return top, input_gradient(net, x, Target(layer, unit))[0].numpy()

    return gradient


def both_loops(net, seed, start, ops, octaves=OCTAVES):
    (port,) = run_mfv(net, MFVConfig(Target(LAYER, UNIT), octaves), [seed], [start], ops=ops, progress=False)
    want, steps = numpy_mfv(black_box(net), [o.as_dict() for o in octaves], LAYER, UNIT, seed, CROP, start)
    return port, want, steps


def mean_image(seed: int) -> np.ndarray:
    """A smooth start image (a facet's mean image stands in): not the loop's random draw."""
    rng = np.random.RandomState(seed)
    rows, cols = np.mgrid[0 : CROP[0], 0 : CROP[1]]
    waves = [np.sin(rows / (3 + c) + rng.uniform(0, 6)) * np.cos(cols / (4 + c)) for c in range(3)]
    return (128 + 60 * np.stack(waves, axis=2)).astype(np.float32)


@pytest.mark.parametrize("start_seed", [None, 7])
def test_port_loop_equals_an_independent_numpy_loop_bitwise(net, start_seed):
    """Bitwise, because both loops do the same IEEE operations on the same values in the same order: the same
    black-box gradient of the same crop; mean |g| in float64 rounded to float32 (a different float64 summation
    order could move the float32 only across a rounding boundary, ~2^-29 odds); one float32 multiply and add;
    an exact clip; float32 additions of the mean; scipy's zoom and scikit-image's denoiser themselves."""
    start = None if start_seed is None else mean_image(start_seed)
    port, want, steps = both_loops(net, 4, start, ReferenceOps())
    rows = [(r.ox, r.oy, r.step_size, r.denoise_weight, r.best_unit) for r in port.trace]
    assert rows == [(s.ox, s.oy, s.step_size, s.denoise_weight, s.best_unit) for s in steps]
    assert any(r.ox != r.oy for r in port.trace)  # crops that move, and not along the diagonal
    assert [(r.target_act, r.mean_abs_grad) for r in port.trace] == [(s.target_act, s.mean_abs_grad) for s in steps]
    assert port.image.shape == want.shape == (29, 24, 3)
    np.testing.assert_array_equal(port.image, want)


def test_caffenet_loop_through_the_model_seam_equals_the_numpy_loop_bitwise():
    """The legacy CaffeNet path through the seam (``CaffeNetwork`` as a ``VisModel``, the convention's
    pixel-unit step with gain 1): the mean preset shortened to 11 iterations on CaffeNet with random weights,
    bit for bit the independent numpy loop (both step one crop at a time: the batch size picks the BLAS's
    summation order)."""
    caffe = caffenet(seed=0)
    octaves = preset("mean", iterations_scale=0.02)
    for seed in (1, 2):
        (run,) = run_mfv(caffe, MFVConfig(Target("fc8", 945), octaves), [seed], ops=ReferenceOps(), progress=False)
        want, steps = numpy_mfv(black_box(caffe), [o.as_dict() for o in octaves], "fc8", 945, run.seed, (227, 227))
        assert [(r.ox, r.oy, r.target_act, r.mean_abs_grad) for r in run.trace] == [
            (s.ox, s.oy, s.target_act, s.mean_abs_grad) for s in steps
        ]
        np.testing.assert_array_equal(run.image, want)


def test_port_loop_with_its_own_kernels_equals_the_numpy_loop(net):
    """The loop's default ops (the port's zoom and compiled denoiser) within the ops table's float32 zoom
    tolerance, 1e-3 grey levels: the port's zoom is not claimed bitwise in float32."""
    port, want, steps = both_loops(net, 4, mean_image(7), TorchOps())
    assert [(r.ox, r.oy) for r in port.trace] == [(s.ox, s.oy) for s in steps]
    np.testing.assert_allclose(port.image, want, atol=1e-3, rtol=0)


class NoDenoiser(ReferenceOps):
    """The loop's ops without the denoiser, so that a step's own move can be seen."""

    name = "no denoiser"

    def denoise(self, images, weights):
        return images


def test_preprocess_is_bgr_minus_caffes_bgr_mean():
    """One pixel, R, G, B = 10, 20, 30: channels B, G, R = 30 - 104, 20 - 117, 10 - 123 (spec, section 2)."""
    x = preprocess(np.array([[[10.0, 20.0, 30.0]]], np.float32))
    assert x.shape == (3, 1, 1) and x.ravel().tolist() == [-74.0, -97.0, -113.0]
    assert deprocess(x).ravel().tolist() == [10.0, 20.0, 30.0]


@pytest.mark.parametrize("margin", [0, 4])
def test_a_step_moves_the_crop_by_step_size_grey_levels_on_average(net, margin):
    """``x += step / mean|g| * g``, mean over the whole (masked) gradient: mean |move| = step."""
    crops = torch.from_numpy(preprocess(mean_image(7))[None])
    _, records, stages = mfv_step(net, crops, Target(LAYER, UNIT), margin, [2.0], [0.1], NoDenoiser(), legacy=True)
    move = (stages.stepped - crops).abs()
    assert float(move.double().mean()) == pytest.approx(2.0, rel=1e-5)
    assert records[0].mean_abs_grad == pytest.approx(float(stages.gradient.abs().double().mean()), rel=1e-6)
    assert float(move.max()) > 4.0  # the gradient is far from uniform, so max |g| would step much less


def test_the_clip_keeps_each_channel_within_0_and_255_before_the_mean(net):
    """A white crop stepped 50 grey levels on average leaves 0..255 both ways; channel c (B, G, R) is clipped
    to [-mean_c, 255 - mean_c] with mean = 104, 117, 123."""
    white = torch.from_numpy(preprocess(np.full((*CROP, 3), 255.0, np.float32))[None])
    _, _, stages = mfv_step(net, white, Target(LAYER, UNIT), 0, [50.0], [0.1], NoDenoiser(), legacy=True)
    assert stages.clipped.amax(dim=(0, 2, 3)).tolist() == [151.0, 138.0, 132.0]
    assert stages.clipped.amin(dim=(0, 2, 3)).tolist() == [-104.0, -117.0, -123.0]
    assert bool((stages.stepped > 151.0).any()) and bool((stages.stepped < -123.0).any())


class LastStep:
    """A loop observer that keeps the last step's drawn offsets and denoised crop."""

    def on_zoom(self, octave_index, before, after):
        pass

    def before_step(self, context, crops):
        pass

    def on_step(self, context, crops, stages, records):
        (self.offsets,), self.denoised = context.offsets, stages.denoised[0].numpy()


def test_a_step_writes_back_exactly_the_crop_it_took(net):
    """The stepped crop lands at the drawn offsets, rows [ox, ox + 24) and columns [oy, oy + 20) of the zoomed
    image, and the trace records those offsets; nothing else changes.  Bitwise: the region is a copy of the
    stepped crop, deprocessed by the same additions."""
    config = MFVConfig(Target(LAYER, UNIT), OCTAVES)
    (full,) = run_mfv(net, config, [4], ops=ReferenceOps(), progress=False)
    k = next(row.iteration for row in full.trace if row.ox != row.oy and row.octave == 1 and row.i > 0)
    (before,) = run_mfv(net, config, [4], ops=ReferenceOps(), progress=False, stop_after=k)
    last = LastStep()
    (after,) = run_mfv(net, config, [4], ops=ReferenceOps(), progress=False, stop_after=k + 1, observer=last)
    ox, oy = last.offsets
    assert (after.trace[k].ox, after.trace[k].oy) == (ox, oy) and ox != oy
    np.testing.assert_array_equal(after.image[ox : ox + 24, oy : oy + 20], deprocess(last.denoised))
    outside = np.ones(after.image.shape[:2], bool)
    outside[ox : ox + 24, oy : oy + 20] = False
    np.testing.assert_array_equal(after.image[outside], before.image[outside])
