"""port.ops.tv_bregman against skimage.restoration.denoise_tv_bregman itself (modern venv).

Both kernels are checked: the compiled sequential loop (the CPU default) and
the FFT-solved vectorised form (the GPU default), on the CPU.

float64: values within 1e-9 and equal iteration counts, except where the
port's stopping value lies within 1e-9 of eps (then the counts may differ;
the case is reported as a warning and its values are not compared).
float32: within 1e-3.  scikit-image's iteration count is found by
bisection on ``max_num_iter`` (legacy_caffe.ops_reference.Denoiser).
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from llvmlite import binding as llvm
from skimage.restoration import denoise_tv_bregman

from legacy_caffe.ops_reference import Denoiser
from parity.comparisons.ops import stop_tie
from port.ops import tv_bregman
from port.ops.tv._gauss_seidel import SWEEP_WEIGHT, sweep

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
F64_TOLERANCE, F32_TOLERANCE, STOP_MARGIN = 1e-9, 1e-3, 1e-9
KERNELS = pytest.mark.parametrize("method", ["sequential", "fft"])


def skimage(image, weight, max_num_iter=100, eps=1e-3, isotropic=True, channel_axis=None):
    return denoise_tv_bregman(
        image, weight=weight, max_num_iter=max_num_iter, eps=eps, isotropic=isotropic, channel_axis=channel_axis
    )


def assert_matches_skimage_f64(
    image, weight, max_num_iter=100, eps=1e-3, isotropic=True, per_channel=False, method="auto"
):
    """Values within 1e-9 and equal iteration counts, or a reported stop tie."""
    want = skimage(image, weight, max_num_iter, eps, isotropic, -1 if per_channel else None)
    got = tv_bregman(
        image, weight, max_num_iter, eps, isotropic, -1 if per_channel else None, return_iterations=True, method=method
    )
    count = Denoiser().iterations(image, weight, max_num_iter, eps, isotropic, per_channel, want)
    ours = int(np.max(got.iterations))
    if ours != count:
        tie = stop_tie(got.rmse, ours, count, eps, STOP_MARGIN)
        assert tie is not None, f"iterations: port {got.iterations}, scikit-image {count}, away from eps"
        warnings.warn(f"stop tie: port {ours} vs scikit-image {count} iterations, stopping values {tie}", stacklevel=2)
        return got
    assert got.image.shape == want.shape and got.image.dtype == want.dtype
    np.testing.assert_allclose(got.image, want, rtol=0, atol=F64_TOLERANCE)
    return got


@st.composite
def images(draw, dtype=np.float64):
    h, w = draw(st.integers(2, 24)), draw(st.integers(2, 24))
    channels = draw(st.sampled_from([None, 1, 3]))
    shape = (h, w) if channels is None else (h, w, channels)
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    if draw(st.booleans()):
        image = rng.uniform(0, 255, shape)
    else:  # flat regions: a few constant blocks, noise in one corner
        blocks = rng.choice([0.0, 40.0, 128.0, 255.0], (2, 2) + shape[2:])
        image = np.repeat(np.repeat(blocks, (h + 1) // 2, 0)[:h], (w + 1) // 2, 1)[:, :w].copy()
        image[: h // 3, : w // 3] += rng.normal(0, 5, image[: h // 3, : w // 3].shape)
    return image.astype(dtype)


weights = st.floats(np.log(0.001), np.log(2.0)).map(np.exp)


@KERNELS
@settings(max_examples=30, deadline=None)
@given(images(), weights, st.booleans(), st.booleans())
def test_float64_matches_skimage_values_and_iteration_counts(method, image, weight, isotropic, per_channel):
    assert_matches_skimage_f64(
        image, weight, isotropic=isotropic, per_channel=per_channel and image.ndim == 3, method=method
    )


@KERNELS
@settings(max_examples=15, deadline=None)
@given(images(np.float32), weights, st.booleans())
def test_float32_within_1e3_of_skimage(method, image, weight, isotropic):
    """A fixed number of iterations (eps = 0): float32 stopping values are too coarse to compare counts."""
    want = skimage(image, weight, 30, 0.0, isotropic)
    got = tv_bregman(image, weight, 30, 0.0, isotropic, method=method)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=F32_TOLERANCE)


@pytest.mark.parametrize("weight", [0.4, 2.0])
@KERNELS
def test_mfv_call_on_a_227_random_start(weight, method):
    """MFV's call: (227, 227, 3) float64 on 0..255, channels jointly, max 100 iterations, eps 1e-3."""
    image = np.clip(np.random.RandomState(0).normal(175, 8, (227, 227, 3)), 0, 255)
    got = assert_matches_skimage_f64(image, weight, method=method)
    assert 1 < int(got.iterations) < 100


@KERNELS
def test_float32_mfv_call_with_skimage_stopping_rule(method):
    image = np.clip(np.random.RandomState(1).normal(175, 8, (227, 227, 3)), 0, 255).astype(np.float32)
    np.testing.assert_allclose(tv_bregman(image, 0.4, method=method), skimage(image, 0.4), rtol=0, atol=F32_TOLERANCE)


@KERNELS
def test_per_channel_mode_carries_b_from_channel_to_channel_like_skimage(method):
    """scikit-image starts channel c from channel c - 1's result: channel 0 is a separate call, the rest not."""
    image = np.random.RandomState(2).uniform(0, 255, (20, 23, 3))
    got = assert_matches_skimage_f64(image, 0.1, per_channel=True, method=method)
    alone = [tv_bregman(image[..., c], 0.1, method=method) for c in range(3)]
    np.testing.assert_allclose(got.image[..., 0], alone[0], rtol=0, atol=F64_TOLERANCE)
    assert np.abs(got.image[..., 1] - alone[1]).max() > 1e-3
    assert got.iterations.shape == (3,)


@KERNELS
def test_channel_axis_names_any_axis_of_the_image(method):
    image = np.random.RandomState(3).uniform(0, 255, (3, 12, 14))
    np.testing.assert_allclose(
        tv_bregman(image, 0.2, channel_axis=0, method=method),
        skimage(image, 0.2, channel_axis=0),
        rtol=0,
        atol=F64_TOLERANCE,
    )


@pytest.mark.parametrize("shape", [(9, 11), (9, 11, 1), (9, 11, 3)])
@KERNELS
def test_constant_image_stays_constant_after_one_iteration(shape, method):
    image = np.full(shape, 93.25)
    got = tv_bregman(image, 0.05, return_iterations=True, method=method)
    want = skimage(image, 0.05)
    assert got.image.shape == want.shape
    np.testing.assert_allclose(got.image, want, rtol=0, atol=F64_TOLERANCE)
    assert int(got.iterations) == 1


@KERNELS
def test_zero_iterations_return_the_image(method):
    image = np.random.RandomState(4).uniform(0, 255, (6, 7, 3))
    got = tv_bregman(image, 1.0, max_num_iter=0, return_iterations=True, method=method)
    np.testing.assert_array_equal(got.image, skimage(image, 1.0, max_num_iter=0))
    assert int(got.iterations) == 0 and got.rmse.shape == (0,)


@pytest.mark.parametrize("per_channel", [False, True])
@KERNELS
def test_batch_equals_separate_calls_each_stopping_on_its_own(per_channel, method):
    stack = np.random.RandomState(5).uniform(0, 255, (4, 17, 19, 3))
    weights = [0.001, 0.05, 0.5, 2.0]
    axis, eps = -1 if per_channel else None, 5e-3
    batch = tv_bregman(stack, weights, eps=eps, channel_axis=axis, batch=True, return_iterations=True, method=method)
    assert batch.iterations.shape == ((4, 3) if per_channel else (4,))
    for image, weight, out, count, rmse in zip(stack, weights, batch.image, batch.iterations, batch.rmse):
        alone = tv_bregman(image, weight, eps=eps, channel_axis=axis, return_iterations=True, method=method)
        np.testing.assert_array_equal(count, alone.iterations)
        np.testing.assert_allclose(out, alone.image, rtol=0, atol=1e-12)
        np.testing.assert_allclose(rmse, alone.rmse, rtol=1e-9, atol=0)
    counts = batch.iterations.max(axis=-1) if per_channel else batch.iterations
    assert len(set(counts.tolist())) > 1


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("size", [1, 3, 8, 10, 17])
def test_sequential_batch_is_bitwise_skimage_per_image(size, isotropic, threads):
    """The CPU kernel sweeps a batch's images together as SIMD lanes, stopped images masked: each image
    must still be scikit-image's float64 result to the last bit and stop at scikit-image's iteration."""
    rng = np.random.RandomState(size)
    stack = np.clip(rng.normal(175, 8, (size, 19, 23, 3)), 0, 255)
    weights = np.exp(rng.uniform(np.log(0.01), np.log(2.0), size))
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = tv_bregman(stack, weights, 60, 2e-3, isotropic, batch=True, return_iterations=True, method="sequential")
    finally:
        torch.set_num_threads(previous)
    counts = []
    for image, weight, out, count, rmse in zip(stack, weights, got.image, got.iterations, got.rmse):
        want = skimage(image, weight, 60, 2e-3, isotropic)
        np.testing.assert_array_equal(out, want)
        counts.append(Denoiser().iterations(image, weight, 60, 2e-3, isotropic, False, want))
        assert np.isnan(rmse[count:]).all() and not np.isnan(rmse[:count]).any()
    np.testing.assert_array_equal(got.iterations, counts)
    assert size == 1 or len(set(counts)) > 1


AVX2_ONLY = ",".join(
    ("-" if name.startswith("avx512") else "+" if on else "-") + name
    for name, on in llvm.get_host_cpu_features().items()
)


@pytest.mark.skipif(not llvm.get_host_cpu_features().get("avx2"), reason="this CPU has no AVX2")
def test_sequential_batch_is_bitwise_skimage_compiled_for_avx2(tmp_path):
    """The same lanes compiled for 4-double AVX2 vectors instead of this machine's widest (a fresh numba cache)."""
    stack = np.clip(np.random.RandomState(9).normal(175, 8, (5, 17, 22, 3)), 0, 255)
    weights = [0.01, 0.1, 0.4, 1.0, 2.0]
    np.save(tmp_path / "stack.npy", stack)
    script = """
import sys, numpy as np
from port.ops import tv_bregman
from port.ops.tv._sequential import _iterate
out = tv_bregman(np.load(sys.argv[1] + "/stack.npy"), [0.01, 0.1, 0.4, 1.0, 2.0], batch=True)
np.save(sys.argv[1] + "/out.npy", out)
code = "".join(_iterate.inspect_asm().values())
assert "vdivpd" in code and "ymm" in code and "zmm" not in code
"""
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=AVX2_ONLY, NUMBA_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, check=True, timeout=600)
    out = np.load(tmp_path / "out.npy")
    for image, weight, got in zip(stack, weights, out):
        np.testing.assert_array_equal(got, skimage(image, weight))


@KERNELS
def test_torch_in_torch_out_and_scalar_weight_for_a_batch(method):
    stack = torch.from_numpy(np.random.RandomState(6).uniform(0, 255, (2, 8, 9)))
    out = tv_bregman(stack, 0.3, batch=True, method=method)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 8, 9) and out.dtype == torch.float64
    np.testing.assert_allclose(out[1].numpy(), skimage(stack[1].numpy(), 0.3), rtol=0, atol=F64_TOLERANCE)


def test_sweep_is_the_sequential_row_major_recurrence():
    source = np.random.RandomState(7).normal(0, 50, (2, 6, 9))
    u = np.zeros((2, 7, 10))
    for r in range(6):
        for c in range(9):
            u[:, r + 1, c + 1] = SWEEP_WEIGHT * (u[:, r, c + 1] + u[:, r + 1, c]) + source[:, r, c]
    np.testing.assert_allclose(sweep(torch.from_numpy(source)).numpy(), u[:, 1:, 1:], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image=np.full((5, 5), np.nan), weight=0.1), "NaN"),
        (dict(image=np.full((5, 5), np.inf), weight=0.1), "NaN or infinity"),
        (dict(image=np.zeros((5, 5), dtype=np.uint8), weight=0.1), "float32 or float64"),
        (dict(image=[[1.0, 2.0], [3.0, 4.0]], weight=0.1), "numpy array or a torch tensor"),
        (dict(image=np.zeros((1, 5)), weight=0.1), "at least 2 x 2"),
        (dict(image=np.zeros((5,)), weight=0.1), r"\(H, W\[, C\]\)"),
        (dict(image=np.zeros((5, 5)), weight=0.0), "weight"),
        (dict(image=np.zeros((5, 5)), weight=float("nan")), "weight"),
        (dict(image=np.zeros((5, 5)), weight="strong"), "weight"),
        (dict(image=np.zeros((2, 5, 5)), weight=[0.1, 0.2, 0.3], batch=True), "one per image"),
        (dict(image=np.zeros((5, 5)), weight=0.1, max_num_iter=-1), "max_num_iter"),
        (dict(image=np.zeros((5, 5)), weight=0.1, max_num_iter=2.5), "max_num_iter"),
        (dict(image=np.zeros((5, 5)), weight=0.1, eps=-1.0), "eps"),
        (dict(image=np.zeros((5, 5)), weight=0.1, channel_axis=-1), "channel_axis"),
        (dict(image=np.zeros((5, 5, 3)), weight=0.1, channel_axis=3), "channel_axis"),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tv_bregman(**kwargs)


@CUDA
@pytest.mark.parametrize("per_channel", [False, True])
def test_cuda_matches_cpu(per_channel):
    stack = np.random.RandomState(8).uniform(0, 255, (3, 40, 37, 3))
    axis = -1 if per_channel else None
    cpu = tv_bregman(stack, [0.01, 0.4, 2.0], channel_axis=axis, batch=True, return_iterations=True)
    cuda = tv_bregman(
        torch.from_numpy(stack).cuda(), [0.01, 0.4, 2.0], channel_axis=axis, batch=True, return_iterations=True
    )
    assert cuda.image.device.type == "cuda"
    np.testing.assert_array_equal(cuda.iterations.numpy(), cpu.iterations)
    np.testing.assert_allclose(cuda.image.cpu().numpy(), cpu.image, rtol=0, atol=F64_TOLERANCE)
