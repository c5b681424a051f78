"""PlantedCaffeNet: its prototxts agree, the committed weights are what the recipe trains, and a training
prefix in real Caffe reproduces the committed training's own record bit for bit, on both legacy stacks."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format

from parity.comparisons.planted_training import (
    TRAINING_ONLY,
    TrainingRecipe,
    batch_order,
    train_planted,
    training_batch,
)
from parity.stacks import LegacyJobError
from parity.stacks.legacy import default_blas_core
from port.caffe.reader import read_prototxt, read_weights
from port.models import NETS
from port.models.planted_caffenet import (
    PLANTED_CAFFENET_PROTOTXT,
    PLANTED_CAFFENET_WEIGHTS,
    PLANTED_SOLVER_PROTOTXT,
    PLANTED_TRAIN_PROTOTXT,
    TRAINING_RECORD,
    planted_caffenet,
)

ROOT = Path(__file__).resolve().parents[1]
RECORD = json.loads(TRAINING_RECORD.read_text())
PREFIX_STEPS = 12


def _layers(path: Path) -> dict:
    return {layer.name: layer for layer in read_prototxt(path).layer}


def _architecture(layer) -> str:
    """A layer without what only training uses (fillers, learning-rate multipliers), as text."""
    copy = type(layer)()
    copy.CopyFrom(layer)
    copy.ClearField("param")
    for field in ("convolution_param", "inner_product_param"):
        if copy.HasField(field):
            getattr(copy, field).ClearField("weight_filler")
            getattr(copy, field).ClearField("bias_filler")
    return text_format.MessageToString(copy)


def test_training_net_is_the_deploy_net_layer_for_layer() -> None:
    deploy, train = _layers(PLANTED_CAFFENET_PROTOTXT), _layers(PLANTED_TRAIN_PROTOTXT)
    assert [name for name in deploy if name != "prob"] == [name for name in train if name in deploy], (
        "the training net must hold the deploy net's layers in the deploy net's order"
    )
    for name, layer in deploy.items():
        if name != "prob":
            assert _architecture(train[name]) == _architecture(layer), name
    extra = [name for name in train if name not in deploy]
    assert extra == ["input", "loss", *TRAINING_ONLY, "loss_facet"]


def test_deploy_net_is_caffenet_shaped() -> None:
    caffenet = _layers(ROOT / "port/models/caffenet.prototxt")
    planted = _layers(PLANTED_CAFFENET_PROTOTXT)
    assert [(name, layer.type) for name, layer in planted.items()] == [
        (name, layer.type) for name, layer in caffenet.items()
    ]
    for name in ("conv2", "conv4", "conv5"):
        assert planted[name].convolution_param.group == 2
    assert planted["fc8"].inner_product_param.num_output == 4


def test_committed_weights_match_the_deploy_net_and_the_record() -> None:
    blobs = read_weights(PLANTED_CAFFENET_WEIGHTS)
    assert list(blobs) == [
        name
        for name, layer in _layers(PLANTED_CAFFENET_PROTOTXT).items()
        if layer.type
        in (
            "Convolution",
            "InnerProduct",
        )
    ]
    assert hashlib.sha256(PLANTED_CAFFENET_WEIGHTS.read_bytes()).hexdigest() == RECORD["sha256"]
    assert PLANTED_CAFFENET_WEIGHTS.stat().st_size == RECORD["bytes"]
    assert "fc8_facet" not in blobs
    net = planted_caffenet()
    assert "trained here" in net.weights_description
    assert NETS["planted_caffenet"] is planted_caffenet


def test_record_names_the_committed_recipe() -> None:
    assert RECORD["recipe"] == {"images": 4800, "steps": 2500, "image_seed": 0, "order_seed": 0}
    assert TrainingRecipe() == TrainingRecipe(**RECORD["recipe"])
    assert RECORD["batch"] == training_batch() == 16
    solver = PLANTED_SOLVER_PROTOTXT.read_text()
    assert re.search(r"^max_iter: (\d+)$", solver, re.M).group(1) == str(RECORD["recipe"]["steps"])
    assert str(PREFIX_STEPS) in RECORD["snapshot_sha256"]


def test_batch_order_is_epochs_of_permutations() -> None:
    order = batch_order(40, 7, 16, seed=3)
    assert order.shape == (7, 16) and order.dtype == np.int64
    flat = order.ravel()
    assert sorted(flat[:40]) == list(range(40)) and sorted(flat[40:80]) == list(range(40))
    rs = np.random.RandomState(3)
    expected = np.concatenate([rs.permutation(40), rs.permutation(40)])
    np.testing.assert_array_equal(flat[:80], expected)
    np.testing.assert_array_equal(batch_order(40, 7, 16, seed=3), order)
    assert not np.array_equal(batch_order(40, 7, 16, seed=4), order)


def test_recipe_refuses_unbalanced_or_empty() -> None:
    with pytest.raises(ValueError, match="multiple of 12"):
        TrainingRecipe(images=100)
    with pytest.raises(ValueError, match="steps 0"):
        TrainingRecipe(steps=0)


@pytest.mark.legacy
def test_training_prefix_reproduces_the_committed_training(each_legacy_stack, tmp_path: Path) -> None:
    """The first steps of the committed recipe, in either legacy interpreter, give the very bytes the
    committed training recorded after those steps (same images, order, solver seed, kernel and threads).

    The premise, checked first: OpenBLAS runs the recorded kernel (Haswell: AVX2 and FMA) on one thread, so
    its sums are the same code on every CPU that has those instructions, Intel or AMD, AVX2 or AVX-512; the
    rest of Caffe's arithmetic is Debian's one build and glibc's libm, which picks its FMA variants on all of
    them alike. A CPU without AVX2 and FMA cannot run that kernel, and the test says so instead of comparing.
    """
    if default_blas_core().lower() != RECORD["blas_core"].lower():
        pytest.skip(f"this CPU lacks AVX2 or FMA: it cannot run the {RECORD['blas_core']} kernel the training used")
    recipe = TrainingRecipe(**dict(RECORD["recipe"], steps=PREFIX_STEPS))
    run = train_planted(
        each_legacy_stack.with_blas_core(RECORD["blas_core"]),
        recipe,
        tmp_path / "prefix.caffemodel",
        threads=RECORD["threads"],
        progress=False,
    )
    assert run.sha256 == RECORD["snapshot_sha256"][str(PREFIX_STEPS)]
    np.testing.assert_array_equal(run.losses, np.asarray(RECORD["first_losses"][:PREFIX_STEPS], dtype=np.float32))
    assert run.manifest["threads"]["observed"] == RECORD["threads"]
    assert run.manifest["blas_core"]["observed"].lower() == RECORD["blas_core"].lower()


@pytest.mark.legacy
def test_training_stops_on_a_non_finite_loss(legacy_stack, tmp_path: Path, monkeypatch) -> None:
    import parity.comparisons.planted_training as training

    solver = tmp_path / "solver.prototxt"
    solver.write_text(re.sub(r"^base_lr: .*$", "base_lr: 1e30", PLANTED_SOLVER_PROTOTXT.read_text(), flags=re.M))
    monkeypatch.setattr(training, "PLANTED_SOLVER_PROTOTXT", solver)
    with pytest.raises(LegacyJobError, match=r"step \d+: loss .* is not finite; training stopped"):
        train_planted(legacy_stack, TrainingRecipe(images=48, steps=6), tmp_path / "w.caffemodel", progress=False)
    assert not (tmp_path / "w.caffemodel").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["planted", "train", "--steps", "3000"], "steps 3000: the solver (planted_caffenet_solver.prototxt) stops at"),
        (["planted", "train", "--images", "100"], "images 100: must be a multiple of 12"),
        (["planted", "measure", "--images-per-facet", "2"], "images per facet 2: at least 5"),
    ],
)
def test_planted_commands_refuse_bad_numbers_before_any_work(argv, message, tmp_path: Path, capsys) -> None:
    from mfv_cli.main import main

    out = tmp_path / "out.caffemodel"
    assert main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
    assert list(tmp_path.iterdir()) == []
