"""port.ops.zoom against scipy.ndimage.zoom itself (modern venv), float64 to 1e-9 and float32 to 1e-3."""

import numpy as np
import pytest
import scipy.ndimage
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from port.ops import zoom

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
TOLERANCE = {np.float64: 1e-9, np.float32: 1e-3}


def scipy_zoom(x: np.ndarray, factors, order: int) -> np.ndarray:
    """scipy's zoom of every (C, H, W) image of a batch with factors (1, zoom_h, zoom_w), as MFV calls it."""
    zoom_h, zoom_w = factors if isinstance(factors, tuple) else (factors, factors)
    return np.stack([scipy.ndimage.zoom(image, (1, zoom_h, zoom_w), order=order) for image in x])


def assert_matches_scipy(x: np.ndarray, factors, order: int) -> None:
    want = scipy_zoom(x, factors, order)
    got = zoom(torch.from_numpy(x), factors, order).numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[x.dtype.type])


@st.composite
def zoom_cases(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    factor = st.floats(0.3, 3.0).filter(lambda z: round(h * z) >= 1 and round(w * z) >= 1)
    factors = (draw(factor), draw(factor))
    order = draw(st.integers(0, 5))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    x = np.random.RandomState(draw(st.integers(0, 2**16))).uniform(0, 255, (n, c, h, w)).astype(dtype)
    return x, factors, order


@settings(max_examples=80, deadline=None)
@given(zoom_cases())
def test_random_shapes_factors_and_orders_match_scipy(case):
    x, factors, order = case
    assert_matches_scipy(x, factors, order)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", [1, 3])
@pytest.mark.parametrize("factor", [1.2, 1.0])
def test_mfv_octave_zoom_of_a_227_crop(factor, order, dtype):
    """MFV zooms its (3, 227, 227) float32 working image by 1.2 (to 272) and by 1.0 (a round trip)."""
    x = np.random.RandomState(0).uniform(-123, 132, (1, 3, 227, 227)).astype(dtype)
    assert_matches_scipy(x, factor, order)
    assert zoom(torch.from_numpy(x), factor, order).shape[-1] == (272 if factor == 1.2 else 227)


def test_factor_one_is_a_spline_round_trip_close_to_the_identity():
    x = torch.from_numpy(np.random.RandomState(1).uniform(0, 255, (2, 3, 31, 17)))
    round_trip = zoom(x, 1.0)
    assert torch.allclose(round_trip, x, rtol=0, atol=1e-11)


def test_last_sample_past_the_edge_by_rounding_is_zero_as_in_scipy():
    """28 -> 22 samples: 21 * (27 / 21) exceeds 27 by 3.6e-15, so scipy's 'constant' mode writes cval."""
    x = np.random.RandomState(2).uniform(1, 255, (1, 1, 28, 28))
    assert_matches_scipy(x, 0.8, 3)
    assert float(zoom(torch.from_numpy(x), 0.8)[0, 0, -1].abs().max()) == 0.0


@pytest.mark.parametrize("length, factor", [(5, 1.5), (3, 1.5), (227, 1.2), (7, 0.5)])
def test_output_length_rounds_half_to_even_like_scipy(length, factor):
    x = np.random.RandomState(3).uniform(0, 255, (1, 1, length, length))
    assert zoom(torch.from_numpy(x), factor).shape == scipy_zoom(x, factor, 3).shape


@pytest.mark.parametrize(
    "x, factors, order, message",
    [
        (torch.zeros(3, 8, 8), 1.2, 3, r"\(N, C, H, W\)"),
        (torch.zeros(1, 1, 8, 8, dtype=torch.int64), 1.2, 3, "float32 or float64"),
        (np.zeros((1, 1, 8, 8)), 1.2, 3, "torch.Tensor"),
        (torch.zeros(1, 1, 8, 8), 1.2, 6, "order"),
        (torch.zeros(1, 1, 8, 8), 1.2, True, "order"),
        (torch.zeros(1, 1, 8, 8), 0.0, 3, "zoom"),
        (torch.zeros(1, 1, 8, 8), float("nan"), 3, "zoom"),
        (torch.zeros(1, 1, 8, 8), (1.2, 1.2, 1.0), 3, "zoom"),
        (torch.zeros(1, 1, 8, 8), 0.01, 3, "nothing to sample"),
        (torch.full((1, 1, 8, 8), float("nan")), 1.2, 3, "NaN"),
    ],
)
def test_bad_input_is_a_clear_value_error(x, factors, order, message):
    with pytest.raises(ValueError, match=message):
        zoom(x, factors, order)


@CUDA
def test_cuda_matches_cpu():
    x = torch.from_numpy(np.random.RandomState(4).uniform(0, 255, (2, 3, 64, 48)))
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-3)):
        cpu = zoom(x.to(dtype), 1.2)
        cuda = zoom(x.to(dtype).cuda(), 1.2)
        assert cuda.device.type == "cuda" and cuda.dtype == dtype
        assert torch.allclose(cuda.cpu(), cpu, rtol=0, atol=tol)
