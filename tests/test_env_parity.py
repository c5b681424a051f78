"""``mfv parity env``: the py27 stack against the bullseye stack on a small net (tests/nets/tiny_original.prototxt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.comparisons.env import run_env_parity
from parity.comparisons.mfv import RunSetup
from parity.reports.env import render
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
    lockstep = report.lockstep
    assert len(lockstep.steps) == report.inputs.iterations and all(step.same_schedule for step in lockstep.steps)
    for step in lockstep.steps:
        # Each step starts from the same image on both stacks: same crop, same libcaffe, same kernel and thread,
        # so the same gradient bits; the gradient step and the clip (numpy 1.11 vs 1.19) give the same crop
        # (measured: 0 on all 38 steps).  Only the denoiser parts them, and the write-back carries exactly that.
        assert step.cross.gradient_bitwise and step.cross.gradient == 0.0 and step.cross.step == 0.0, step
        assert 0.0 < step.cross.denoise == step.cross.image, step
    # The denoise part is bounded as the ops level measured scikit-image 0.13.1 against 0.18.1 on one image
    # (up to 12 grey levels): measured 0.43-4.3 grey levels per step on this net.
    assert max(step.cross.denoise for step in lockstep.steps) < 12.0
    # Each stack's own floor (2 BLAS threads against 1 on the same image) is rounding: measured 1.1e-8 in the
    # gradient and at most 1.7e-4 grey levels after the step, so no step's py27 - bullseye difference is within it.
    for floor in (lockstep.worst("py27_floor"), lockstep.worst("bullseye_floor")):
        assert 0.0 < floor.image < 1e-2 and floor.gradient < 1e-6
    assert lockstep.steps_within_floor == 0
    # scipy 0.17.0 and 1.6 zoom the float32 image alike, bit for bit (octaves 2 and 3: scales 1.2 and 1.0).
    assert [(zoom.octave, zoom.scale, zoom.bitwise) for zoom in lockstep.zooms] == [(1, 1.2, True), (2, 1.0, True)]
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
    assert "Lockstep: each step started from the same image on both stacks" in html
    assert report.as_dict()["lockstep"]["gradients_bitwise"] == len(lockstep.steps)
