"""The suite's own rules: shared data fails under CI, Caffe only in tests marked legacy, the tolerance table pinned."""

import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from parity.comparisons.mfv import LockstepTolerances
from parity.judges.step_attribution import StepTolerances
from parity.judges.tolerances import Tolerances
from tests.conftest import pytest_runtest_setup
from tests.shared_data import check_shared_data, needs

ABSENT = Path("/nonexistent/mfv-original/mean_0.jpg")
ROOT = Path(__file__).resolve().parents[1]

# The figures of parity/judges/tolerances.json, written here by hand: loosening the file must fail this test.
# (Strings - "_doc" and "why" - are left out: they explain, they do not judge.)
PINNED = {
    "weights": {"bitwise": True},
    "forward": {"default": {"max_rel": 1e-5}, "blobs": {"prob": {"max_rel": 1e-4}}},
    "backward": {"default": {"max_rel": 1e-5}, "blobs": {}, "targets": {"prob": {"max_rel": 1e-4}}},
    "lockstep": {
        "denoised_abs": 1e-3,
        "stepped_abs": 1e-3,
        "gradient_rel": 1e-5,
        "zoom_abs": 1e-3,
        "same_denoiser_abs": 1e-6,
    },
    "batch": {
        "gradient_rel": 1e-5,
        "stepped_abs": 1e-3,
        "denoised_abs": 1e-3,
        "same_denoiser_abs": 1e-9,
        "zoom_abs": 1e-4,
    },
    "free_run": {"psnr_margin_db": 1.0, "within_one_margin": 0.05, "divergence_rel": 1e-3},
    "ops": {"max_abs": {"float64": 1e-9, "float32": 1e-3}, "stop_margin": {"float64": 1e-9, "float32": 2e-5}},
}


def figures_only(entry):
    if isinstance(entry, dict):
        return {k: figures_only(v) for k, v in entry.items() if k not in ("_doc", "why")}
    return entry


@pytest.mark.parametrize("section", sorted(PINNED))
def test_tolerance_table_is_pinned(section):
    assert figures_only(Tolerances.load().table[section]) == PINNED[section]


@pytest.mark.parametrize("section", ["lockstep", "batch"])
def test_step_judges_read_the_pinned_figures(section):
    pinned = dict(PINNED[section])
    zoom_abs = pinned.pop("zoom_abs")
    table = Tolerances.load().table
    assert StepTolerances.from_entry(table[section]) == StepTolerances(**pinned)
    if section == "lockstep":
        assert LockstepTolerances.from_table(table) == LockstepTolerances(StepTolerances(**pinned), zoom_abs)


def test_missing_shared_data_skips_for_a_user_and_fails_under_ci():
    with pytest.raises(pytest.skip.Exception, match="no ../shared"):
        check_shared_data([ABSENT], ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI must have ../shared"):
        check_shared_data([ABSENT], ci=True)
    check_shared_data([Path(__file__)], ci=True)


def test_needs_marks_the_path_for_the_hook():
    mark = needs(ABSENT).mark
    assert (mark.name, mark.args) == ("shared_data", (ABSENT,))


def fake_item(fixtures: list[str], marks: list[pytest.Mark]) -> SimpleNamespace:
    return SimpleNamespace(
        nodeid="tests/test_x.py::test_y",
        fixturenames=fixtures,
        get_closest_marker=lambda name: next((m for m in marks if m.name == name), None),
        iter_markers=lambda name: [m for m in marks if m.name == name],
    )


def test_a_test_that_starts_caffe_without_the_legacy_mark_fails_before_caffe_starts():
    with pytest.raises(pytest.fail.Exception, match="uses the legacy Caffe stack but is not marked legacy"):
        pytest_runtest_setup(fake_item(["tmp_path", "legacy_stack"], []))
    pytest_runtest_setup(fake_item(["tmp_path", "legacy_stack"], [pytest.mark.legacy.mark]))
    pytest_runtest_setup(fake_item(["tmp_path"], []))


def test_a_test_that_uses_docker_needs_the_docker_mark_and_legacy_where_it_runs_caffe():
    docker, legacy = pytest.mark.docker.mark, pytest.mark.legacy.mark
    with pytest.raises(pytest.fail.Exception, match="uses the Docker engine but is not marked docker"):
        pytest_runtest_setup(fake_item(["port_image"], []))
    with pytest.raises(pytest.fail.Exception, match="uses the legacy Caffe stack but is not marked legacy"):
        pytest_runtest_setup(fake_item(["docker_bullseye"], [docker]))
    with pytest.raises(pytest.fail.Exception, match="uses the Docker engine but is not marked docker"):
        pytest_runtest_setup(fake_item(["docker_bullseye"], [legacy]))
    pytest_runtest_setup(fake_item(["docker_bullseye"], [docker, legacy]))
    pytest_runtest_setup(fake_item(["port_image"], [docker]))


def test_the_hook_acts_on_the_shared_data_mark(monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI must have"):
        pytest_runtest_setup(fake_item([], [needs(ABSENT).mark]))
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        pytest_runtest_setup(fake_item([], [needs(ABSENT).mark]))


def test_every_listed_mutation_applies_once_and_names_tests_that_exist(monkeypatch):
    """scripts/mutations.json must follow the code: a fragment that moved or a renamed test is a stale entry."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    listed = importlib.import_module("mutations").load()
    assert len({m.id for m in listed}) == len(listed)
    for m in listed:
        assert (ROOT / m.file).read_text().count(m.original) == 1, m.id
        assert m.tests or m.pending, m.id
        for test in m.tests:
            path, _, name = test.partition("::")
            assert f"def {name.split('[')[0]}(" in (ROOT / path).read_text(), (m.id, test)
