"""CaffeNetwork semantics that need no Caffe: blob naming, in-place views, end=, errors, CaffeNet."""

from pathlib import Path

import numpy as np
import pytest
import torch

from port.caffe import (
    CaffeFormatError,
    Target,
    fill_random,
    input_gradient,
    load_net,
    one_hot_diffs,
    read_prototxt,
    save_caffemodel,
    write_caffemodel,
)
from port.models import CAFFENET_PROTOTXT, caffenet
from tests.caffe_loops import lrn_across_loops
from tests.shared_data import ORIGINAL_DEPLOY, needs

NETS = Path(__file__).parent / "nets"


def _structure(net):
    return [(s.name, s.type, s.bottoms, s.tops) for s in net.steps], dict(net.inputs), net.param_shapes()


def test_caffenet_prototxt_has_the_papers_structure():
    net = load_net(CAFFENET_PROTOTXT)
    names = [s.name for s in net.steps]
    assert names == [
        "conv1",
        "relu1",
        "pool1",
        "norm1",
        "conv2",
        "relu2",
        "pool2",
        "norm2",
        "conv3",
        "relu3",
        "conv4",
        "relu4",
        "conv5",
        "relu5",
        "pool5",
        "fc6",
        "relu6",
        "drop6",
        "fc7",
        "relu7",
        "drop7",
        "fc8",
        "prob",
    ]
    assert net.blob_shapes["pool5"] == (1, 256, 6, 6)


@needs(ORIGINAL_DEPLOY)
def test_caffenet_prototxt_matches_the_original_deploy_file():
    ours, original = load_net(CAFFENET_PROTOTXT), load_net(ORIGINAL_DEPLOY)
    assert _structure(ours) == _structure(original)
    for a, b in zip(ours.steps, original.steps):
        assert vars(ours.layer(a.name)).keys() == vars(original.layer(b.name)).keys()
        ours_cfg = {k: v for k, v in vars(ours.layer(a.name)).items() if not k.startswith("_")}
        assert ours_cfg == {k: v for k, v in vars(original.layer(b.name)).items() if not k.startswith("_")}
    assert read_prototxt(CAFFENET_PROTOTXT).force_backward and read_prototxt(ORIGINAL_DEPLOY).force_backward


def test_in_place_blobs_hold_last_value_and_first_producers_diff():
    net = caffenet(seed=3)
    x = torch.from_numpy(np.random.RandomState(0).normal(0, 50, (1, 3, 227, 227)).astype(np.float32))
    trace = net.run(x)
    assert torch.equal(trace.blobs["conv1"], torch.relu(trace.produced["conv1"]))
    assert (trace.produced["conv1"] < 0).any()
    diffs = one_hot_diffs(net, x, Target("fc7", 5))
    assert diffs["fc7"].count_nonzero() == 1 and diffs["fc7"][0, 5] == 1
    dead = trace.produced["fc6"][0] <= 0
    assert torch.all(diffs["fc6"][0][dead] == 0)
    assert "fc8" not in diffs and "prob" not in diffs
    torch.testing.assert_close(input_gradient(net, x, Target("fc7", 5)), diffs["data"], rtol=0, atol=0)


def test_run_stops_after_end_layer_like_caffe_forward_end():
    net = caffenet(seed=1)
    trace = net.run(torch.zeros(1, 3, 227, 227), end="conv5")
    assert "conv5" in trace.blobs and "pool5" not in trace.blobs
    assert (trace.blobs["conv5"] < 0).any()


def test_split_tops_get_their_own_diffs():
    net = fill_random(load_net(NETS / "mini_inception.prototxt"), 0)
    x = torch.from_numpy(np.random.RandomState(1).normal(size=(2, 3, 35, 35)).astype(np.float32))
    diffs = one_hot_diffs(net, x, Target("fc", 2))
    assert not torch.equal(diffs["s1"], diffs["s2"])
    torch.testing.assert_close(diffs["norm2"], diffs["s1"] + diffs["s2"])


def test_lrn_uses_the_prototxts_k():
    """tiny_mfv's norm1 has k = 2 (Caffe's default and CaffeNet's is 1); k = 1 would be 22% off here."""
    net = fill_random(load_net(NETS / "tiny_mfv.prototxt"), 5)
    x = torch.from_numpy(np.random.RandomState(0).normal(0, 40, (1, 3, 24, 20)).astype(np.float32))
    with torch.no_grad():
        blobs = net.run(x).blobs
    want = lrn_across_loops(blobs["pool1"].numpy(), 3, 0.001, 0.75, 2.0)
    np.testing.assert_allclose(blobs["norm1"].numpy(), want, rtol=1e-6, atol=1e-6 * np.abs(want).max())


def _write(tmp_path, text, name="net.prototxt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_layer_type_names_layer_and_type(tmp_path):
    proto = _write(
        tmp_path,
        'input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n'
        'layer { name: "weird" type: "SPP" bottom: "data" top: "y" }',
    )
    with pytest.raises(CaffeFormatError, match=r"net.prototxt: layer 'weird' has type 'SPP'"):
        load_net(proto)


def test_shape_mismatch_between_prototxt_and_caffemodel_names_layer_and_shapes(tmp_path):
    other = read_prototxt(CAFFENET_PROTOTXT)
    other.layer[15].inner_product_param.num_output = 64
    blobs = caffenet(seed=0).blob_arrays()
    blobs["fc6"] = [np.zeros((64, 9216), np.float32), np.zeros(64, np.float32)]
    weights = tmp_path / "other.caffemodel"
    write_caffemodel(weights, other, blobs)
    with pytest.raises(
        CaffeFormatError,
        match=r"other.caffemodel: layer 'fc6' blob 0 has shape \(64, 9216\), "
        r"but .*caffenet.prototxt expects \(4096, 9216\)",
    ):
        load_net(CAFFENET_PROTOTXT, weights)


def test_missing_weights_for_a_layer_is_an_error(tmp_path):
    weights = tmp_path / "partial.caffemodel"
    net = caffenet(seed=0)
    blobs = {k: v for k, v in net.blob_arrays().items() if k != "fc8"}
    write_caffemodel(weights, read_prototxt(CAFFENET_PROTOTXT), blobs)
    with pytest.raises(CaffeFormatError, match="no weights for layer 'fc8'"):
        load_net(CAFFENET_PROTOTXT, weights)


def test_truncated_caffemodel_is_a_clear_error(tmp_path):
    weights = tmp_path / "caffenet.caffemodel"
    net = caffenet(seed=0)
    save_caffemodel(net, CAFFENET_PROTOTXT, weights)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CaffeFormatError, match="caffenet.caffemodel"):
        load_net(CAFFENET_PROTOTXT, weights)


def test_missing_files_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.prototxt"):
        load_net(tmp_path / "nope.prototxt")
    with pytest.raises(FileNotFoundError, match="nope.caffemodel"):
        load_net(CAFFENET_PROTOTXT, tmp_path / "nope.caffemodel")


def test_layer_reading_an_unknown_blob_is_an_error(tmp_path):
    proto = _write(
        tmp_path,
        'input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n'
        'layer { name: "r" type: "ReLU" bottom: "datum" top: "r" }',
    )
    with pytest.raises(CaffeFormatError, match=r"layer 'r' reads blob\(s\) \['datum'\]"):
        load_net(proto)


def test_target_parsing_and_checks():
    assert Target.parse("conv5:3:6:7") == Target("conv5", 3, 6, 7)
    assert str(Target.parse("fc8:945")) == "fc8:945"
    with pytest.raises(ValueError, match="LAYER:UNIT"):
        Target.parse("fc8")
    with pytest.raises(ValueError, match="does not index"):
        Target("fc8", 1000).index((1, 1000))


def test_weights_description_says_where_weights_came_from(tmp_path):
    assert caffenet(seed=4).weights_description == "deterministic random weights (seed 4), not pretrained"
    assert load_net(CAFFENET_PROTOTXT).weights_description == "zeros (no weights loaded)"
    blobs = caffenet(seed=0).blob_arrays()
    net_param = read_prototxt(CAFFENET_PROTOTXT)
    extra = net_param.layer.add(name="fc9", type="InnerProduct", bottom=["fc8"], top=["fc9"])
    extra.inner_product_param.num_output = 2
    blobs["fc9"] = [np.zeros((2, 1000), np.float32), np.zeros(2, np.float32)]
    weights = tmp_path / "more.caffemodel"
    write_caffemodel(weights, net_param, blobs)
    net = load_net(CAFFENET_PROTOTXT, weights)
    assert net.weights_description == str(weights) and net.ignored_weight_layers == ["fc9"]
