"""What MFV finds on PlantedCaffeNet, against the planted ground truth and on both stacks (issue 24's bars):
held-out accuracy and agreement, facets recovered by ``mfv facets``, MFV keeping the facet it started from,
and levels 4-5 (lockstep, free runs at the legacy noise floor) on the trained net."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from parity.comparisons.mfv import RunSetup, run_parity
from parity.comparisons.planted import (
    ACCURACY_BAR,
    ARI_BAR,
    IDENTITY_BAR,
    PROBABILITY_BAR,
    measure_planted,
    planted_report,
)
from parity.judges.tolerances import Tolerances
from parity.reports import write_report
from parity.reports.planted import render
from port.caffe import Target
from port.mfv.loop import MFVConfig
from port.mfv.presets import preset
from port.models.planted_caffenet import PLANTED_CAFFENET_PROTOTXT, PLANTED_CAFFENET_WEIGHTS, planted_caffenet
from port.planted import PLANTED

pytestmark = pytest.mark.legacy

IMAGES_PER_FACET = 40


@pytest.fixture(scope="module")
def measures(legacy_stack):
    return measure_planted(
        planted_caffenet(),
        legacy_stack,
        PLANTED_CAFFENET_WEIGHTS,
        images_per_facet=IMAGES_PER_FACET,
        log=lambda _: None,
    )


def test_bars_are_the_issues() -> None:
    assert (ACCURACY_BAR, ARI_BAR, PROBABILITY_BAR, IDENTITY_BAR) == (0.95, 0.9, 0.9, 0.8)


def test_held_out_accuracy_on_both_stacks(measures) -> None:
    held = measures.held_out
    assert held.seed == 2 and len(held) == IMAGES_PER_FACET * PLANTED.n_facets
    assert np.array_equal(np.bincount(held.facets), np.full(PLANTED.n_facets, IMAGES_PER_FACET))
    assert measures.port_accuracy >= ACCURACY_BAR and measures.caffe_accuracy >= ACCURACY_BAR
    assert measures.disagreements == 0
    p = measures.predictions
    forward = Tolerances.load().table["forward"]
    assert np.abs(p.port_prob - p.caffe_prob).max() <= forward["blobs"]["prob"]["max_rel"]
    scale = np.abs(p.caffe_codes).max()
    assert np.abs(p.port_codes - p.caffe_codes).max() <= forward["default"]["max_rel"] * scale


def test_mfv_facets_recovers_the_planted_facets(measures) -> None:
    assert [c.name for c in measures.classes] == [c.name for c in PLANTED.classes]
    for facets in measures.classes:
        assert facets.ari >= ARI_BAR, facets.name
        assert sorted(facets.cluster_facet) == list(range(PLANTED.facets_per_class)), facets.name


def test_mfv_from_each_facet_keeps_it_and_the_class(measures) -> None:
    assert len(measures.visuals) == PLANTED.n_facets and measures.iterations == 370
    for v in measures.visuals:
        assert v.lowest_probability >= PROBABILITY_BAR, (v.class_index, v.cluster, v.probability)
        assert v.image.shape == (227, 227, 3) and v.image.dtype == np.uint8
    assert measures.identity_rate >= IDENTITY_BAR
    assert measures.failures() == []


def test_report_says_trained_here_and_shows_every_facet(measures, tmp_path: Path) -> None:
    report = planted_report(measures, PLANTED_CAFFENET_WEIGHTS)
    assert report.verdict.passed, report.verdict.failures
    page = write_report(tmp_path / "planted", report, render(report))
    text = page.read_text()
    assert "trained here" in text and text.count("<img") >= PLANTED.n_facets * (4 + 1 + 1)
    record = report.as_dict()
    assert record["inputs"]["weights_sha256"] == report.inputs.weights_sha256
    assert len(record["visuals"]) == PLANTED.n_facets and record["verdict"]["pass"]


# Levels 4-5 at a tenth of the mean preset, where both hold on this net. On the whole preset (370 iterations,
# `mfv parity run --net planted_caffenet --unit U`) lockstep passes every step, and the free run is within the
# legacy noise floor for units 0, 2 and 3 but OUTSIDE it for unit 1: on a trained net the runs are chaotic, the
# port parts from Caffe at iteration 2 (a pool5 near-tie at iteration 0), earlier than Caffe with another thread
# count or kernel, and the one-pair floor judges when a run parts as much as the port (docs/planted.md). That is
# an open finding of issue 24, not a bar this test claims.
QUICK = 0.1
ITERATIONS = sum(octave.iter_n for octave in preset("mean", iterations_scale=QUICK))


@pytest.fixture(scope="module")
def setup() -> RunSetup:
    config = MFVConfig(Target("fc8", 1), preset("mean", iterations_scale=QUICK))
    return RunSetup(
        planted_caffenet(), PLANTED_CAFFENET_PROTOTXT, PLANTED_CAFFENET_WEIGHTS, config, 1, None, None, "fc8"
    )


def test_lockstep_on_the_trained_net(legacy_stack, setup) -> None:
    report, _ = run_parity(setup, legacy_stack, mode="lockstep", progress=False)
    section = report.lockstep
    assert len(section.rows) == ITERATIONS and section.passed and report.verdict.passed
    summary = section.as_dict()
    assert summary["offsets_identical"] and summary["schedules_identical"]


def test_free_runs_on_the_trained_net_at_the_legacy_noise_floor(legacy_stack, setup) -> None:
    report, images = run_parity(setup, legacy_stack, mode="free", progress=False)
    free = report.free
    assert free.trace.offsets_and_schedules_identical and free.trace.iterations == [ITERATIONS, ITERATIONS]
    assert free.floor.within_floor and free.within_floor and report.verdict.passed
    assert "port WITHIN the legacy noise floor" in report.verdict.summary
