"""``mfv parity env``: the py27 stack against the bullseye stack on a small net (tests/nets/tiny_original.prototxt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.env_parity import run_env_parity
from parity.env_report import render
from parity.runs import RunSetup
from parity.stacks import ChrootStack
from port.caffe import load_net
from port.mfv.loop import MFVConfig, Target
from port.mfv.presets import preset

NET = Path(__file__).parent / "nets" / "tiny_original.prototxt"


@pytest.mark.legacy
def test_py27_against_bullseye(legacy_py27_stack: ChrootStack, legacy_stack: ChrootStack, tmp_path: Path) -> None:
    made = legacy_stack.run("make_weights", {"seed": 5}, {"prototxt": NET}, out_dir=tmp_path / "made")
    config = MFVConfig(Target("fc8", 3), preset("mean", iterations_scale=0.1))
    setup = RunSetup(load_net(NET), NET, made.files["weights.caffemodel"], config, 1, None, None, "fc8")
    report, images = run_env_parity(setup, legacy_py27_stack, legacy_stack, ops_size=64)
    # Same libcaffe, same kernel and thread: every blob and the input gradient bitwise.
    assert report.layers and all(row.bitwise for row in report.layers), [r for r in report.layers if not r.bitwise]
    zooms = [row for row in report.ops if row.name.startswith("zoom/")]
    tvs = [row for row in report.ops if row.name.startswith("tv/")]
    # scipy 0.17.0 and 1.6 zoom alike to rounding (measured <= 4.9e-13); scikit-image 0.13.1's
    # denoise_tv_bregman is another function than 0.18.1's on the same float64 image (measured up to 12
    # grey levels at weight 0.01 on 227 x 227).
    assert len(zooms) == 8 and max(row.max_abs for row in zooms) < 1e-9
    assert len(tvs) == 5 and max(row.max_abs for row in tvs) > 1.0
    assert [run.name for run in report.runs] == [
        "py27 vs bullseye",
        "bullseye vs itself (2 vs 1 BLAS threads)",
        "py27 vs itself (2 vs 1 BLAS threads)",
    ]
    assert report.inputs.iterations == sum(octave.iter_n for octave in config.octaves)
    assert report.environment["py27"]["python"].startswith("2.7.")
    assert report.environment["bullseye"]["python"].startswith("3.9.")
    assert len(images) == 4
    html = render(report, images)
    assert "py27 vs bullseye" in html and "0.13.1" in html and "0.18.1" in html
