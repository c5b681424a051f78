"""parity.judges.figures: the figures every report is built from."""

import numpy as np
import pytest

from parity.judges.figures import bitwise_equal, figures


def test_figures_of_a_known_difference():
    legacy = np.array([[1.0, -4.0], [2.0, 0.0]], np.float32)
    port = legacy + np.array([[0.0, 0.5], [-0.25, 0.0]], np.float32)
    fig = figures(legacy, port)
    assert (fig.max_abs, fig.max_rel, fig.mean_abs, fig.legacy_max) == (0.5, 0.125, 0.1875, 4.0)


def test_zero_arrays_and_zero_reference():
    assert figures(np.zeros(3), np.zeros(3)).max_rel == 0.0
    assert figures(np.zeros(3), np.array([0.0, 1e-9, 0.0])).max_rel == float("inf")


def test_matching_non_finite_values_agree_and_mismatched_ones_do_not():
    nan, inf = float("nan"), float("inf")
    fig = figures(np.array([nan, inf, 1.0]), np.array([nan, inf, 1.5]))
    assert (fig.max_abs, fig.non_finite, fig.legacy_max) == (0.5, 2, 1.0)
    assert figures(np.array([nan, 1.0]), np.array([0.0, 1.0])).max_abs == inf
    assert figures(np.array([inf]), np.array([-inf])).max_abs == inf


def test_shape_mismatch_names_the_array():
    with pytest.raises(ValueError, match="conv1: legacy shape"):
        figures(np.zeros((2, 2)), np.zeros(4), "conv1")


def test_bitwise_equal_sees_single_bits_and_nan_payloads():
    a = np.array([1.0, np.nan], np.float32)
    b = a.copy()
    assert bitwise_equal(a, b)
    b.view(np.uint32)[0] ^= 1
    assert not bitwise_equal(a, b)
    assert not bitwise_equal(a, a.astype(np.float64))
