"""Hostile inputs, as a new user might give them: every one exits 2 with one line, or follows a documented rule.

None of these tests needs Caffe: hanging stacks are a fake interpreter
script, and bad targets and outputs are refused before any stack is used.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mfv_cli.exits import Terminated, sigterm_raises
from port.caffe import CaffeFormatError, fill_random, load_net, save_caffemodel
from port.facets.images import read_rgb
from port.imaging import load_rgb
from port.outputs import OutputError, output_directory
from tests.exit_status import exit_status

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "nets" / "mini_inception.prototxt"
NO_STACK = "local:/nonexistent/python"


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


@pytest.fixture
def thesis(tmp_path: Path) -> Path:
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.txt").write_text("four years of work")
    return folder


OUTPUT_COMMANDS = {
    "visualize": ["visualize", "--unit", "945"],
    "facets": ["facets", "--images", "{images}"],
    "parity layers": ["parity", "layers", "--prototxt", str(MINI), "--weights", "{images}", "--stack", NO_STACK],
}


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_out_holding_a_users_files_is_refused_and_they_stay(command, thesis, tmp_path, capsys):
    argv = [a.format(images=tmp_path) for a in OUTPUT_COMMANDS[command]]
    assert exit_status([*argv, "--out", str(thesis)]) == 2
    line = one_line_error(capsys)
    assert f"--out {thesis}" in line and "thesis.txt" in line and "--force" in line
    assert (thesis / "thesis.txt").read_text() == "four years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_out_naming_a_plain_file_is_refused_and_the_file_stays(tmp_path, capsys):
    paper = tmp_path / "paper.tex"
    paper.write_text("\\section{}")
    assert exit_status(["visualize", "--unit", "945", "--out", str(paper)]) == 2
    assert "is a file" in one_line_error(capsys) and paper.read_text() == "\\section{}"


def test_out_dot_in_a_users_folder_is_refused_and_leaves_nothing(thesis, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(thesis)
    assert exit_status(["visualize", "--unit", "945", "--out", "."]) == 2
    assert "--out" in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]
    assert [p.name for p in thesis.iterdir()] == ["thesis.txt"]


def test_make_weights_refuses_to_overwrite_a_file(tmp_path, capsys):
    kept = tmp_path / "trained.caffemodel"
    kept.write_bytes(b"weeks of training")
    assert exit_status(["make-weights", "--prototxt", str(MINI), "--out", str(kept)]) == 2
    assert "--force" in one_line_error(capsys) and kept.read_bytes() == b"weeks of training"


def test_an_mfv_output_is_replaced_and_force_replaces_anything(thesis, tmp_path):
    ours = tmp_path / "ours"
    with output_directory(ours) as partial:
        (partial / "first").write_text("1")
    with output_directory(ours) as partial:
        (partial / "second").write_text("2")
    assert sorted(p.name for p in ours.iterdir()) == ["mfv-output.json", "second"]
    with pytest.raises(OutputError, match="thesis.txt"):
        with output_directory(thesis):
            pass
    assert (thesis / "thesis.txt").exists()
    with output_directory(thesis, force=True) as partial:
        (partial / "result").write_text("3")
    assert sorted(p.name for p in thesis.iterdir()) == ["mfv-output.json", "result"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours", "thesis"]


def test_name_with_a_path_is_refused_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "a" / "b" / "out"
    assert exit_status(["visualize", "--unit", "945", "--name", "../../escaped", "--out", str(out)]) == 2
    assert "--name '../../escaped'" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_facets_manifest_naming_a_file_outside_its_folder_is_refused(tmp_path, capsys):
    Image.new("RGB", (227, 227)).save(tmp_path / "outside.png")
    facets = tmp_path / "facets"
    facets.mkdir()
    (facets / "facets.json").write_text(json.dumps({"facets": [{"mean_png": "../outside.png"}]}))
    assert exit_status(["visualize", "--facets", str(facets), "--unit", "1", "--out", str(tmp_path / "o")]) == 2
    assert "facet 0's mean_png: '../outside.png' points outside" in one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def fake_interpreter(tmp_path: Path) -> tuple[Path, Path]:
    """An 'interpreter' that records its pid and hangs, as a broken Caffe build might."""
    pid_file = tmp_path / "child.pid"
    script = tmp_path / "hanging-python"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 300\n")
    script.chmod(0o755)
    return script, pid_file


def gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return re.search(r"^State:\s+Z", status, re.M) is not None


def test_a_hanging_stack_is_killed_at_the_timeout_and_its_job_folder_removed(tmp_path, capsys, monkeypatch):
    script, pid_file = fake_interpreter(tmp_path)
    jobs = tmp_path / "tmp"
    jobs.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(jobs))
    started = time.monotonic()
    assert exit_status(["legacy", "info", "--stack", f"local:{script}", "--timeout", "1"]) == 2
    assert time.monotonic() - started < 30
    assert "ran past its timeout of 1 s; its process group was killed" in capsys.readouterr().err
    assert gone(int(pid_file.read_text())) and list(jobs.iterdir()) == []


def test_sigterm_kills_the_legacy_job_and_removes_its_folder(tmp_path):
    script, pid_file = fake_interpreter(tmp_path)
    jobs = tmp_path / "tmp"
    jobs.mkdir()
    env = dict(os.environ, TMPDIR=str(jobs), PYTHONPATH=str(REPO))
    mfv = subprocess.Popen(
        [sys.executable, "-m", "mfv_cli", "legacy", "info", "--stack", f"local:{script}"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and mfv.poll() is None
        time.sleep(0.1)
    mfv.send_signal(signal.SIGTERM)
    _, err = mfv.communicate(timeout=60)
    assert mfv.returncode == 128 + signal.SIGTERM and "stopped by SIGTERM" in err
    assert gone(int(pid_file.read_text())) and list(jobs.iterdir()) == []


def test_sigterm_during_the_final_write_keeps_the_old_output_and_leaves_no_partial(tmp_path):
    out = tmp_path / "out"
    with output_directory(out) as partial:
        (partial / "old").write_text("kept")
    with pytest.raises(Terminated), sigterm_raises(), output_directory(out) as partial:
        (partial / "half").write_text("x")
        os.kill(os.getpid(), signal.SIGTERM)
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and (out / "old").read_text() == "kept"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "-1"], "argument --unit: -1 is negative"),
        (["--unit", "1", "--layer", "conv5", "--xy", "-1"], "argument --xy: -1 is negative"),
        (["--unit", "1000"], "--unit 1000: layer 'fc8' has units 0..999"),
        (["--unit", "1", "--layer", "nosuch"], "--layer 'nosuch': no such layer"),
        (["--unit", "1", "--layer", "conv5", "--xy", "100"], "position (100, 100) is outside layer 'conv5'"),
        (["--unit", "1", "--layer", "conv5"], "--xy: layer 'conv5' is spatial; give a position in 0..12"),
        (["--unit", "1", "--iterations-scale", "0"], "argument --iterations-scale: 0 is outside (0, 1]"),
        (["--unit", "1", "--iterations-scale", "-1"], "argument --iterations-scale: -1 is outside (0, 1]"),
        (["--unit", "1", "--seed", "99999999999999999999"], "argument --seed: 99999999999999999999 is outside"),
    ],
)
def test_bad_targets_and_schedules_are_refused_before_the_run(args, message, tmp_path, capsys):
    assert exit_status(["visualize", *args, "--out", str(tmp_path / "o")]) == 2
    assert message in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_parity_target_outside_the_net_is_refused_before_the_stack_is_used(tmp_path, capsys):
    weights = tmp_path / "w.caffemodel"
    save_caffemodel(fill_random(load_net(MINI), 0), MINI, weights)
    argv = ["parity", "layers", "--prototxt", str(MINI), "--weights", str(weights), "--stack", NO_STACK]
    assert exit_status([*argv, "--target", "fc:10", "--out", str(tmp_path / "o")]) == 2
    assert "--target 10: layer 'fc' has units 0..9" in one_line_error(capsys)


def test_unwritable_out_fails_before_any_work(capsys):
    assert exit_status(["visualize", "--unit", "945", "--out", "/proc/mfv-out"]) == 2
    captured = capsys.readouterr()
    assert "--out /proc/mfv-out: cannot write in /proc" in captured.err and "WARNING" not in captured.out


def test_a_directory_as_weights_is_bad_input_not_a_parity_failure(tmp_path, capsys):
    argv = ["parity", "layers", "--prototxt", str(MINI), "--weights", str(tmp_path), "--stack", NO_STACK]
    assert exit_status([*argv, "--out", str(tmp_path / "o")]) == 2
    assert one_line_error(capsys) == f"mfv: error: {tmp_path}: Is a directory"


def test_a_bug_exits_3_with_its_traceback_and_a_request_to_report_it(capsys, monkeypatch):
    def broken(stack, threads):
        raise KeyError("internal")

    monkeypatch.setattr("parity.stacks.provision.environment", broken)
    assert exit_status(["legacy", "info", "--stack", NO_STACK]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'internal'" in err and "please report it" in err


def test_legacy_info_refuses_bad_threads_and_asks_for_the_ones_given(capsys, monkeypatch):
    assert exit_status(["legacy", "info", "--threads", "-1"]) == 2
    assert "argument --threads: -1 is not at least 1" in capsys.readouterr().err
    asked = []
    monkeypatch.setattr("parity.stacks.provision.environment", lambda stack, threads: asked.append(threads) or {})
    assert exit_status(["legacy", "info", "--stack", NO_STACK, "--threads", "3"]) == 0
    assert asked == [3]


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    values = np.linspace(0, 65535, 227 * 227).round().astype(np.uint16).reshape(227, 227)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    expected = np.repeat(np.rint(values / 257.0)[..., None], 3, axis=2)
    assert np.array_equal(load_rgb(path), expected.astype(np.float32))
    assert np.array_equal(read_rgb(path, (227, 227)), expected.astype(np.uint8))


def test_a_huge_input_is_refused_naming_the_blob_and_the_memory(tmp_path, capsys):
    proto = tmp_path / "huge.prototxt"
    proto.write_text(
        'input: "data" input_dim: 1 input_dim: 3 input_dim: 100000 input_dim: 100000\n'
        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 2 } }'
    )
    assert exit_status(["make-weights", "--prototxt", str(proto), "--out", str(tmp_path / "w.caffemodel")]) == 2
    line = one_line_error(capsys)
    assert "input blob 'data' would be 1 x 3 x 100000 x 100000" in line and "111.8 GiB" in line


HOSTILE_NUMBERS = st.sampled_from([-1, 0, 1, 2, 3, 7, 64, 4096, 2**31, 2**32 - 1, 10**12])
NUMERIC_FIELD = re.compile(r"\b(dim|num_output|kernel_size|stride|pad|group|dilation|local_size): (\d+)")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(
        st.integers(0, len(NUMERIC_FIELD.findall(MINI.read_text())) - 1), HOSTILE_NUMBERS, min_size=1, max_size=3
    )
)
def test_any_numbers_in_a_prototxt_give_weights_or_a_clear_error(changes, tmp_path, capsys):
    positions = iter(range(len(NUMERIC_FIELD.findall(MINI.read_text()))))
    proto = tmp_path / "hostile.prototxt"
    proto.write_text(
        NUMERIC_FIELD.sub(lambda m: f"{m.group(1)}: {changes.get(next(positions), m.group(2))}", MINI.read_text())
    )
    status = exit_status(["make-weights", "--prototxt", str(proto), "--out", str(tmp_path / "w.caffemodel"), "--force"])
    err = capsys.readouterr().err
    assert status in (0, 2) and "Traceback" not in err
    assert status == 0 or (err.startswith("mfv: error: ") and str(proto) in err)


@pytest.fixture(scope="module")
def mini_weights(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("weights") / "mini.caffemodel"
    save_caffemodel(fill_random(load_net(MINI), 0), MINI, path)
    return path.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=8))
def test_damaged_caffemodels_load_or_raise_a_format_error(mini_weights, cut, flips, tmp_path):
    damaged = bytearray(mini_weights[: int(cut * len(mini_weights))])
    for where, mask in flips:
        if damaged:
            damaged[int(where * (len(damaged) - 1))] ^= mask
    path = tmp_path / "damaged.caffemodel"
    path.write_bytes(bytes(damaged))
    try:
        load_net(MINI, path)
    except CaffeFormatError as error:
        assert str(path) in str(error)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=2000))
def test_arbitrary_bytes_as_a_caffemodel_raise_a_format_error_or_load(junk, tmp_path):
    path = tmp_path / "junk.caffemodel"
    path.write_bytes(junk)
    try:
        load_net(MINI, path)
    except CaffeFormatError as error:
        assert str(path) in str(error)
