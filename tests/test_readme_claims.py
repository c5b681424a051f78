"""The README's exit-status claim for ``mfv parity layers``: 0 within tolerance, 1 when not, 2 on a broken stack.

Exit 1 needs the real Caffe (a port deliberately broken against it); exit 2
on a broken stack needs none.  The other README claims are asserted where
their runs already happen: the free run and the noise floor in
tests/test_parity_runs.py, the demo's three verdicts in tests/test_cli.py.
"""

import json
import sys
from pathlib import Path

import pytest
import torch

import parity.comparisons.layers
from mfv_cli.main import main
from port.caffe import load_net

NET = Path(__file__).parent / "nets" / "tiny_mfv.prototxt"


def parity_layers(tmp_path: Path, *extra: str) -> int:
    weights = tmp_path / "tiny.caffemodel"
    if not weights.exists():
        assert main(["make-weights", "--prototxt", str(NET), "--seed", "3", "--out", str(weights)]) == 0
    return main(["parity", "layers", "--prototxt", str(NET), "--weights", str(weights), *extra])


@pytest.mark.parametrize(
    "stack, message",
    [
        ("local:/nonexistent/python", "no interpreter '/nonexistent/python'"),
        (f"local:{sys.executable}", "caffe is not importable"),
        ("chroot:/nonexistent/root", "no legacy root at /nonexistent/root"),
    ],
)
def test_parity_layers_exits_2_on_a_broken_stack(tmp_path, capsys, stack, message):
    assert parity_layers(tmp_path, "--stack", stack, "--out", str(tmp_path / "report")) == 2
    err = capsys.readouterr().err
    assert err.startswith("mfv: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "report").exists()


@pytest.mark.legacy
def test_parity_layers_exits_0_on_the_port_and_1_on_a_deliberately_broken_port(
    legacy_stack, tmp_path, capsys, monkeypatch
):
    """The same net and weights: as loaded, every figure is within tolerance; with 0.1 added to conv1's bias in
    the port (Caffe unchanged), conv1 and every blob after it are outside tolerance."""
    assert parity_layers(tmp_path, "--out", str(tmp_path / "good")) == 0
    good = json.loads((tmp_path / "good" / "report.json").read_text())
    assert good["verdict"]["pass"]

    def broken_load_net(*args, **kwargs):
        net = load_net(*args, **kwargs)
        with torch.no_grad():
            net.layer("conv1").bias += 0.1
        return net

    monkeypatch.setattr(parity.comparisons.layers, "load_net", broken_load_net)
    capsys.readouterr()
    assert parity_layers(tmp_path, "--out", str(tmp_path / "bad")) == 1
    bad = json.loads((tmp_path / "bad" / "report.json").read_text())
    assert not bad["verdict"]["pass"] and "FAIL" in capsys.readouterr().out
    failed = {row["blob"] for row in bad["forward"] if row["max_rel"] > row["tolerance"]}
    assert failed == {"conv1", "pool1", "norm1", "fc"}
