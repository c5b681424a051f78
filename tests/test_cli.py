"""The ``mfv`` command end to end: exit codes, files written, clear errors."""

import json
from pathlib import Path

import pytest

from mfv_cli.main import main
from port.atomic import atomic_directory
from port.caffe import load_net

NETS = Path(__file__).parent / "nets"


@pytest.mark.legacy
def test_make_weights_then_parity_layers_writes_a_passing_report(tmp_path, capsys, legacy_stack):
    weights = tmp_path / "mini.caffemodel"
    assert (
        main(
            ["make-weights", "--prototxt", str(NETS / "mini_inception.prototxt"), "--seed", "5", "--out", str(weights)]
        )
        == 0
    )
    assert "not pretrained" in capsys.readouterr().out
    load_net(NETS / "mini_inception.prototxt", weights)
    out = tmp_path / "report"
    code = main(
        [
            "parity",
            "layers",
            "--prototxt",
            str(NETS / "mini_inception.prototxt"),
            "--weights",
            str(weights),
            "--target",
            "fc:1",
            "--target",
            "left:0:3:3",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert code == 0 and report["verdict"]["pass"]
    assert f"report: {out / 'report.html'}" in printed
    assert report["inputs"]["targets"] == ["fc:1", "left:0:3:3"]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Level 2: backward from a one-hot at left:0:3:3" in html


def test_make_weights_v1_refuses_what_v1_cannot_express(tmp_path, capsys):
    out = tmp_path / "mini_v1.caffemodel"
    assert (
        main(["make-weights", "--prototxt", str(NETS / "mini_inception.prototxt"), "--format", "v1", "--out", str(out)])
        == 2
    )
    assert "layer 'data': field 'input_param': V1 layers have no such field" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.legacy
def test_quick_demo_says_its_weights_are_generated_and_writes_four_reports(tmp_path, capsys, legacy_stack):
    code = main(["demo", "--quick", "--out", str(tmp_path / "demo")])
    printed = capsys.readouterr().out
    assert "GENERATED deterministic random weights" in printed
    assert "PlantedCaffeNet, TRAINED HERE in Caffe on synthetic planted-facet images" in printed
    assert f"report: {tmp_path / 'demo' / 'index.html'}" in printed
    demo = tmp_path / "demo"
    assert sorted(p.name for p in demo.iterdir()) == [
        "free",
        "index.html",
        "layers",
        "lockstep",
        "mfv-output.json",
        "planted",
    ]
    parts = ("layers", "lockstep", "free", "planted")
    verdicts = [json.loads((demo / part / "report.json").read_text())["verdict"] for part in parts]
    assert code == 0 and [v["pass"] for v in verdicts] == [True, True, True, True]
    assert "trained here" in (demo / "planted" / "report.html").read_text()
    assert "port WITHIN the legacy noise floor" in verdicts[2]["summary"]
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


@pytest.mark.legacy
def test_legacy_info_prints_the_caffe_manifest(capsys, legacy_stack):
    assert main(["legacy", "info"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["environment"]["versions"]["caffe"] == "1.0.0"


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "nope.prototxt"),
        (
            'input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n'
            'layer { name: "up" type: "SPP" bottom: "data" top: "up" }',
            "layer 'up' has type 'SPP'",
        ),
        ("layer { name: ", "bad.prototxt"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_2(tmp_path, capsys, text, message):
    proto = tmp_path / ("nope.prototxt" if text is None else "bad.prototxt")
    if text is not None:
        proto.write_text(text)
    assert main(["make-weights", "--prototxt", str(proto), "--out", str(tmp_path / "w.caffemodel")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mfv: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "w.caffemodel").exists()


def test_atomic_directory_leaves_nothing_on_failure_and_replaces_on_success(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as partial:
            (partial / "half.json").write_text("{")
            raise RuntimeError("crash mid-report")
    assert list(tmp_path.iterdir()) == []
    with atomic_directory(target) as partial:
        (partial / "a").write_text("1")
    with atomic_directory(target) as partial:
        (partial / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"] and len(list(tmp_path.iterdir())) == 1
