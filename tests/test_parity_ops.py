"""Parity level 3 (ops) against the real legacy stack: scipy 1.6 and scikit-image 0.18 in the chroot."""

import json

import numpy as np
import pytest

from mfv_cli.main import main
from parity.comparisons.ops import OpsTolerances, run_ops_parity, stop_tie, tv_rows
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL, PASS, STOP_TIE
from parity.reports.ops import render

pytestmark = pytest.mark.legacy

WEIGHTS = (0.001, 0.1, 2.0)


@pytest.fixture(scope="module")
def report(legacy_stack):
    return run_ops_parity(legacy_stack, seed=3, size=32, weights=WEIGHTS)


def test_every_case_within_tolerance_in_both_environments(report):
    assert report.verdict.passed, report.verdict.failures
    assert len(report.zoom) == 8 and len(report.tv_bregman) == 2 * 2 * 2 * len(WEIGHTS)
    for row in report.zoom + report.tv_bregman:
        assert row.verdict in (PASS, STOP_TIE), row
        if row.verdict == PASS:
            for pair in (row.port_vs_modern, row.port_vs_legacy):
                assert pair.max_abs <= row.tolerance, (row.case, pair)
    assert report.environment["legacy"]["environment"]["versions"]["skimage"].startswith("0.18")
    assert report.skipped == {"modern": [], "legacy": []}


def test_float64_iteration_counts_agree_in_all_three(report):
    for row in report.tv_bregman:
        if row.dtype == "float64" and row.verdict == PASS:
            counts = row.iterations
            assert max(counts.port) == counts.modern == counts.legacy, row.case
    assert {row.kernel for row in report.tv_bregman} == {"sequential", "fft"}


def test_sequential_kernel_is_bitwise_both_scikit_images_in_float64_joint_mode(report):
    """MFV's call (channels jointly); per channel, the carried-over state differs in the ghost cells (~1e-13)."""
    for row in report.tv_bregman:
        if row.kernel == "sequential" and row.dtype == "float64" and row.mode == "joint":
            assert row.port_vs_modern.max_abs == row.port_vs_legacy.max_abs == 0.0, row.case


def test_legacy_and_modern_denoisers_agree_bitwise(report):
    """scikit-image 0.18.1 and 0.26.0 denoise bitwise identically; the drift table shows it."""
    for row in report.tv_bregman:
        assert row.modern_vs_legacy.max_abs == 0.0, row.case


def test_zoom_by_one_is_a_round_trip_in_the_legacy_stack(report):
    """scipy 1.6 runs the spline round trip (rounding noise in float64); the port does the same."""
    row = next(r for r in report.zoom if r.factor == 1.0 and r.order == 3 and r.dtype == "float64")
    assert 0.0 < row.port_vs_legacy.max_abs <= 1e-9


def test_html_report_is_self_contained(report):
    text = render(report)
    assert "tv_bregman" in text and "port vs legacy" in text and "<script" not in text
    json.dumps(report.as_dict(), allow_nan=True)


def test_a_wrong_reference_fails_and_a_count_change_away_from_eps_is_no_tie(report):
    inputs = {"tv_float64": np.full((6, 7, 3), 50.0), "tv_float32": np.full((6, 7, 3), 50.0, np.float32)}
    weights = (0.1,)
    tol = OpsTolerances.from_table(Tolerances.load())
    wrong = {f"tv/{k}": inputs["tv_float64"][..., :3] + 1.0 for k in range(4)}
    wrong.update({f"tv_iterations/{k}": np.array(1) for k in range(4)})
    rows = tv_rows(inputs, wrong, wrong, weights, tol)
    assert all(r.verdict == FAIL for r in rows)
    assert stop_tie(np.array([0.5, 0.2, 0.1]), np.array(3), 1, 1e-3, 1e-9) is None
    assert stop_tie(np.array([0.5, 0.001 + 1e-12, 0.0009]), np.array(3), 4, 1e-3, 1e-9) == [0.001 + 1e-12]
    assert stop_tie(np.array([[0.5, 0.0009], [0.5, 0.001 - 1e-12]]), np.array([2, 2]), 2, 1e-3, 1e-9) == [0.001 - 1e-12]


def test_cli_writes_the_report(legacy_stack, tmp_path):
    argv = ["parity", "ops", "--out", str(tmp_path / "ops"), "--size", "12", "--seed", "1", "--weights", "0.05", "1.5"]
    assert main(argv) == 0
    written = json.loads((tmp_path / "ops" / "report.json").read_text())
    assert written["kind"] == "ops" and written["inputs"]["size"] == 12 and written["verdict"]["pass"]
    assert (tmp_path / "ops" / "report.html").read_text().startswith("<!doctype html>")
