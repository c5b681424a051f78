"""port.ops kernels against loop transcriptions of Caffe's CPU code (tests/caffe_loops.py)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from port.ops import (
    PoolGeometry,
    ave_pool,
    caffe_pool_extent,
    gather_pool,
    lrn_across_channels,
    lrn_within_channel,
    max_pool,
)
from port.ops._lrn_cpu import lrn_backward_cpu, lrn_forward_cpu
from tests.caffe_loops import lrn_across_backward_loops, lrn_across_loops, max_pool_backward_loops, pool_loops


@st.composite
def pool_cases(draw):
    kernel = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, kernel - 1))
    h = draw(st.integers(max(kernel - 2 * pad, 1), 13))
    w = draw(st.integers(max(kernel - 2 * pad, 1), 13))
    seed = draw(st.integers(0, 2**16))
    ties = draw(st.booleans())
    return kernel, stride, pad, h, w, seed, ties


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_pooling_matches_caffe_loops(case):
    kernel, stride, pad, h, w, seed, ties = case
    if caffe_outside(h, kernel, stride, pad) or caffe_outside(w, kernel, stride, pad):
        with pytest.raises(ValueError, match="outside the input"):
            max_pool(torch.zeros(1, 1, h, w), PoolGeometry((kernel, kernel), (stride, stride), (pad, pad)))
        return
    random = np.random.RandomState(seed)
    x = (random.randint(0, 3, (2, 3, h, w)) if ties else random.normal(size=(2, 3, h, w))).astype(np.float32)
    geom = PoolGeometry((kernel, kernel), (stride, stride), (pad, pad))
    want_max, want_arg = pool_loops(x, kernel, stride, pad, "max")
    leaf = torch.from_numpy(x).requires_grad_()
    got_max, got_arg = max_pool(leaf, geom)
    np.testing.assert_array_equal(got_max.detach().numpy(), want_max.astype(np.float32))
    np.testing.assert_array_equal(got_arg.numpy(), want_arg)
    top_diff = random.normal(size=want_max.shape).astype(np.float32)
    (got_diff,) = torch.autograd.grad(got_max, leaf, torch.from_numpy(top_diff))
    np.testing.assert_array_equal(got_diff.numpy(), max_pool_backward_loops(x.shape, want_arg, top_diff))
    want_ave, _ = pool_loops(x, kernel, stride, pad, "ave")
    np.testing.assert_allclose(ave_pool(torch.from_numpy(x), geom).numpy(), want_ave, rtol=1e-6, atol=1e-6)


def caffe_outside(size, kernel, stride, pad):
    """Does Caffe's last window start past the input (pad 0, kernel < stride)?"""
    out = -(-(size + 2 * pad - kernel) // stride) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return (out - 1) * stride - pad >= size


def test_pool_extent_rounds_up_and_drops_window_in_padding():
    assert caffe_pool_extent(55, 3, 2, 0) == 27
    assert caffe_pool_extent(13, 3, 2, 0) == 6
    assert caffe_pool_extent(6, 2, 2, 1) == 4
    assert caffe_pool_extent(5, 3, 2, 1) == 3
    assert caffe_pool_extent(4, 3, 3, 1) == 2
    assert caffe_pool_extent(7, 2, 2, 0, ceil=False) == 3


def test_pooling_rounds_up_where_the_windows_do_not_divide_the_input():
    """6 rows, kernel 3, stride 2: (6 - 3) / 2 = 1.5 windows after the first; Caffe keeps a third, clipped one."""
    assert caffe_pool_extent(6, 3, 2, 0) == 3 and caffe_pool_extent(6, 3, 2, 0, ceil=False) == 2
    assert caffe_pool_extent(10, 3, 2, 0) == 5 and caffe_pool_extent(8, 3, 2, 0) == 4
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    values, argmax = max_pool(x, PoolGeometry((3, 3), (2, 2), (0, 0)))
    assert values[0, 0].tolist() == [[14, 16, 17], [26, 28, 29], [32, 34, 35]]
    assert argmax[0, 0].tolist() == [[14, 16, 17], [26, 28, 29], [32, 34, 35]]
    # AVE: the last window holds rows (columns) 4-5 only and is divided by that clipped area, e.g. 2 x 2 = 4
    # for (28 + 29 + 34 + 35) / 4 = 31.5
    ave = ave_pool(x, PoolGeometry((3, 3), (2, 2), (0, 0)))[0, 0]
    assert ave.tolist() == [[7.0, 9.0, 10.5], [19.0, 21.0, 22.5], [28.0, 30.0, 31.5]]


def test_max_pool_ties_go_to_first_in_row_major_order():
    x = torch.zeros(1, 1, 3, 3)
    values, argmax = max_pool(x, PoolGeometry((3, 3), (1, 1), (0, 0)))
    assert argmax.item() == 0 and values.item() == 0


def test_gather_pool_routes_gradient_to_given_argmax():
    x = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]], requires_grad=True)
    values = gather_pool(x, torch.tensor([[[[1]]]]))
    values.sum().backward()
    assert x.grad.flatten().tolist() == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_lrn_across_channels_matches_caffe_loops(size):
    x = np.random.RandomState(size).normal(0, 30, (2, 9, 4, 5)).astype(np.float32)
    got = lrn_across_channels(torch.from_numpy(x).double(), size, 1e-4, 0.75, 2.0).numpy()
    np.testing.assert_allclose(got, lrn_across_loops(x, size, 1e-4, 0.75, 2.0), rtol=1e-12)


@pytest.mark.parametrize("beta", [0.75, 0.6])
@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_lrn_across_channels_backward_is_caffes(size, beta):
    """Both paths (the compiled CPU kernels at beta 3/4, the tensor form otherwise) against Caffe's backward."""
    rng = np.random.RandomState(size)
    x, top_diff = rng.normal(0, 30, (2, 9, 4, 5)), rng.normal(0, 1, (2, 9, 4, 5))
    leaf = torch.from_numpy(x).requires_grad_(True)
    (got,) = torch.autograd.grad(lrn_across_channels(leaf, size, 1e-3, beta, 2.0), leaf, torch.from_numpy(top_diff))
    np.testing.assert_allclose(got.numpy(), lrn_across_backward_loops(x, top_diff, size, 1e-3, beta, 2.0), rtol=1e-11)


def _window_sum_numpy(values: np.ndarray, size: int) -> np.ndarray:
    half = (size - 1) // 2
    zeros = np.zeros((values.shape[0], half) + values.shape[2:], values.dtype)
    padded = np.concatenate([zeros, values, zeros], axis=1)
    sums = padded[:, : values.shape[1]]
    for offset in range(1, size):
        sums = sums + padded[:, offset : offset + values.shape[1]]
    return sums


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 3, 5, 7])
@pytest.mark.parametrize("channels", [2, 5, 9])
def test_compiled_lrn_is_its_formula_in_numpy_bit_for_bit(dtype, size, channels):
    """The kernels' arithmetic, op for op in numpy (correctly rounded), including windows wider than the
    channels, negative zeros, and 3 x 5 x 7 planes that leave a SIMD tail."""
    rng = np.random.RandomState(channels * size)
    x, grad = (rng.normal(0, 30, (3, channels, 5, 7)).astype(dtype) for _ in range(2))
    x[0, 0, 0, 0], grad[1, 0] = -0.0, -0.0
    alpha, k = dtype(1e-4 / size), dtype(2.0)
    cache = 2 * 1e-4 * 0.75 / size
    y, scale, power = lrn_forward_cpu(torch.from_numpy(x), size, 1e-4, 2.0)
    want_scale = k + alpha * _window_sum_numpy(x * x, size)
    root = np.sqrt(want_scale)
    want_power = dtype(1) / (root * np.sqrt(root))
    want_y = x * want_power
    dx = lrn_backward_cpu(torch.from_numpy(grad), torch.from_numpy(x), y, scale, power, size, cache)
    want_dx = grad * want_power - dtype(cache) * (x * _window_sum_numpy(grad * want_y / want_scale, size))
    for got, want in ((scale, want_scale), (power, want_power), (y, want_y), (dx, want_dx)):
        assert got.numpy().dtype == dtype and got.numpy().tobytes() == want.tobytes()


def test_compiled_lrn_gives_each_image_its_own_bits_in_any_batch():
    x = torch.from_numpy(np.random.RandomState(3).normal(0, 30, (7, 16, 6, 6)).astype(np.float32))
    leaf = x.clone().requires_grad_(True)
    grad = torch.ones_like(x)
    together = torch.autograd.grad(lrn_across_channels(leaf, 5, 1e-4, 0.75, 1.0), leaf, grad)[0]
    with torch.no_grad():
        forward = lrn_across_channels(x, 5, 1e-4, 0.75, 1.0)
    for i in range(len(x)):
        alone = x[i : i + 1].clone().requires_grad_(True)
        out = lrn_across_channels(alone, 5, 1e-4, 0.75, 1.0)
        assert torch.equal(out.detach(), forward[i : i + 1])
        assert torch.equal(torch.autograd.grad(out, alone, grad[i : i + 1])[0], together[i : i + 1])


def test_lrn_within_channel_is_one_plus_alpha_mean_of_square_window():
    x = np.random.RandomState(0).normal(0, 10, (1, 2, 6, 7))
    got = lrn_within_channel(torch.from_numpy(x), 3, 0.01, 0.75).numpy()
    padded = np.pad(x**2, ((0, 0), (0, 0), (1, 1), (1, 1)))
    sums = sum(padded[:, :, i : i + 6, j : j + 7] for i in range(3) for j in range(3))
    np.testing.assert_allclose(got, x * (1 + 0.01 / 9 * sums) ** -0.75, rtol=1e-12)


@pytest.mark.parametrize("size", [0, 2, 4])
def test_lrn_rejects_even_or_empty_windows(size):
    with pytest.raises(ValueError, match="odd"):
        lrn_across_channels(torch.zeros(1, 3, 2, 2), size, 1.0, 0.75, 1.0)
