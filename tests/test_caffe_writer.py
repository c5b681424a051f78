"""port.caffe.writer: V2 / V1 caffemodels and prototxts, round trips, errors, atomicity."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from port.caffe import (
    CaffeFormatError,
    read_caffemodel,
    read_prototxt,
    read_weights,
    write_caffemodel,
    write_prototxt,
)
from port.caffe.schema import NetParameter

NET_TEXT = """
name: "roundtrip"
input: "data"
input_dim: [1, 3, 10, 10]
layer {
  name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 decay_mult: 1 } param { lr_mult: 2 decay_mult: 0 }
  convolution_param {
    num_output: 4 kernel_size: 3 stride: 1 pad: 1 group: 1
    weight_filler { type: "gaussian" std: 0.01 } bias_filler { type: "constant" value: 0.1 }
  }
}
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" relu_param { negative_slope: 0.1 } }
layer {
  name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: AVE kernel_size: 2 stride: 2 }
}
layer {
  name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
  lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 }
}
layer {
  name: "fc" type: "InnerProduct" bottom: "norm1" top: "fc"
  inner_product_param { num_output: 5 }
}
layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" dropout_param { dropout_ratio: 0.4 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" include { phase: TEST } }
"""

# Bit patterns that must survive unchanged: signalling and payload NaNs,
# infinities, negative zero, the smallest subnormal and the largest float.
SPECIAL_BITS = np.array(
    [0x7F800001, 0xFFC12345, 0x7F800000, 0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF],
    dtype=np.uint32,
)


def parse_net(text: str) -> NetParameter:
    return text_format.Parse(text, NetParameter())


def structure(net: NetParameter) -> NetParameter:
    """Return a copy of the net without blobs."""
    bare = NetParameter()
    bare.CopyFrom(net)
    for layer in bare.layer:
        layer.ClearField("blobs")
    return bare


def bits(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.float32).tobytes()


@pytest.fixture()
def net() -> NetParameter:
    return parse_net(NET_TEXT)


@pytest.fixture()
def weights() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(2016)
    conv_w = rng.standard_normal((4, 3, 3, 3), np.float32)
    conv_w.flat[: SPECIAL_BITS.size] = SPECIAL_BITS.view(np.float32)
    return {
        "conv1": [conv_w, rng.standard_normal(4, np.float32)],
        "fc": [rng.standard_normal((5, 100), np.float32), rng.standard_normal(5, np.float32)],
    }


def test_v2_round_trip(tmp_path: Path, net: NetParameter, weights) -> None:
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, net, weights)
    assert structure(read_caffemodel(path)) == net
    read = read_weights(path)
    assert list(read) == ["conv1", "fc"]
    for name, blobs in weights.items():
        assert [a.shape for a in read[name]] == [b.shape for b in blobs]
        assert [bits(a) for a in read[name]] == [bits(b) for b in blobs]


def test_v1_round_trip(tmp_path: Path, net: NetParameter, weights) -> None:
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, net, weights, version="v1")
    raw = NetParameter.FromString(path.read_bytes())
    assert len(raw.layer) == 0 and [layer.name for layer in raw.layers] == [layer.name for layer in net.layer]
    assert raw.layers[0].type == raw.layers[0].CONVOLUTION
    assert list(raw.layers[0].blobs_lr) == [1, 2] and list(raw.layers[0].weight_decay) == [1, 0]
    assert structure(read_caffemodel(path)) == net
    read = read_weights(path)
    assert [a.shape for a in read["conv1"]] == [(4, 3, 3, 3), (1, 1, 1, 4)]
    assert [a.shape for a in read["fc"]] == [(1, 1, 5, 100), (1, 1, 1, 5)]
    for name, blobs in weights.items():
        assert [bits(a) for a in read[name]] == [bits(b) for b in blobs]


@settings(max_examples=60, deadline=None)
@given(
    blobs=st.lists(
        hnp.arrays(np.uint32, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)),
        min_size=1,
        max_size=3,
    ),
    version=st.sampled_from(["v2", "v1"]),
)
def test_any_float32_blobs_round_trip_bitwise(
    tmp_path_factory: pytest.TempPathFactory, blobs: list[np.ndarray], version: str
) -> None:
    arrays = [b.view(np.float32) for b in blobs]
    path = tmp_path_factory.mktemp("hyp") / "w.caffemodel"
    write_caffemodel(
        path,
        parse_net('layer { name: "ip" type: "InnerProduct" }'),
        {"ip": arrays},
        version=version,
    )
    (read,) = read_weights(path).values()
    for got, expected in zip(read, arrays, strict=True):
        shape = expected.shape if version == "v2" else (1,) * (4 - expected.ndim) + expected.shape
        assert got.shape == shape
        assert bits(got) == bits(expected)


def test_only_the_given_weights_are_written(tmp_path: Path, net: NetParameter, weights) -> None:
    write_caffemodel(tmp_path / "all.caffemodel", net, weights)
    with_blobs = read_caffemodel(tmp_path / "all.caffemodel")
    write_caffemodel(tmp_path / "fc.caffemodel", with_blobs, {"fc": weights["fc"]})
    assert list(read_weights(tmp_path / "fc.caffemodel")) == ["fc"]


def test_other_dtypes_are_rounded_to_float32(tmp_path: Path) -> None:
    values = np.array([0.1, 1 / 3, 2**40 + 1], np.float64)
    path = tmp_path / "w.caffemodel"
    write_caffemodel(path, parse_net('layer { name: "ip" }'), {"ip": [values, np.arange(3)]})
    got = read_weights(path)["ip"]
    assert bits(got[0]) == bits(values.astype(np.float32))
    np.testing.assert_array_equal(got[1], [0, 1, 2])


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_prototxt_round_trip(tmp_path: Path, net: NetParameter, version: str) -> None:
    path = tmp_path / "net.prototxt"
    write_prototxt(path, net, version=version)
    assert read_prototxt(path) == net


def test_v1_prototxt_looks_like_2014(tmp_path: Path, net: NetParameter) -> None:
    write_prototxt(tmp_path / "net.prototxt", net, version="v1")
    text = (tmp_path / "net.prototxt").read_text()
    assert "layer {" not in text and text.count("layers {") == len(net.layer)
    for line in [
        "type: CONVOLUTION",
        "type: LRN",
        "type: SOFTMAX",
        "blobs_lr: 2",
        "weight_decay: 0",
    ]:
        assert line in text


def test_v1_param_lists_are_padded_with_defaults(tmp_path: Path) -> None:
    """V1 lists are positional: a gap becomes the ParamSpec default."""
    net = parse_net('layer { name: "c" type: "Convolution" param { decay_mult: 0 } param { lr_mult: 2 } }')
    write_prototxt(tmp_path / "net.prototxt", net, version="v1")
    (layer,) = text_format.Parse((tmp_path / "net.prototxt").read_text(), NetParameter()).layers
    assert list(layer.blobs_lr) == [1, 2] and list(layer.weight_decay) == [0]
    upgraded = read_prototxt(tmp_path / "net.prototxt").layer[0]
    assert [(p.lr_mult, p.decay_mult) for p in upgraded.param] == [(1, 0), (2, 1)]


def test_prototxt_leaves_blobs_out(tmp_path: Path, net: NetParameter, weights) -> None:
    write_caffemodel(tmp_path / "w.caffemodel", net, weights)
    write_prototxt(tmp_path / "net.prototxt", read_caffemodel(tmp_path / "w.caffemodel"))
    assert "blobs" not in (tmp_path / "net.prototxt").read_text()


def test_v1_refuses_types_without_enum(tmp_path: Path) -> None:
    net = parse_net('layer { name: "in" type: "Input" top: "data" }')
    with pytest.raises(CaffeFormatError, match=r"'in'.*'Input' has no V1 LayerType") as caught:
        write_prototxt(tmp_path / "net.prototxt", net, version="v1")
    assert str(tmp_path / "net.prototxt") in str(caught.value)
    with pytest.raises(CaffeFormatError, match="no V1 LayerType"):
        write_caffemodel(tmp_path / "w.caffemodel", net, {}, version="v1")
    assert not (tmp_path / "w.caffemodel").exists()


def test_v1_refuses_fields_without_v1_counterpart(tmp_path: Path) -> None:
    net = parse_net('layer { name: "r" type: "ReLU" propagate_down: false }')
    with pytest.raises(CaffeFormatError, match=r"'r'.*'propagate_down'"):
        write_prototxt(tmp_path / "net.prototxt", net, version="v1")


def test_v1_refuses_blobs_of_more_than_four_axes(tmp_path: Path) -> None:
    net = parse_net('layer { name: "c" type: "Convolution" }')
    with pytest.raises(CaffeFormatError, match=r"'c'.*blob 0.*four int32"):
        write_caffemodel(tmp_path / "w.caffemodel", net, {"c": [np.zeros((1,) * 5)]}, version="v1")
    write_caffemodel(tmp_path / "w.caffemodel", net, {"c": [np.zeros((1,) * 5)]}, version="v2")


def test_weights_for_an_unknown_layer(tmp_path: Path, net: NetParameter, weights) -> None:
    with pytest.raises(CaffeFormatError, match="'fc9'"):
        write_caffemodel(tmp_path / "w.caffemodel", net, {**weights, "fc9": [np.zeros(1)]})


def test_weights_for_a_duplicated_layer_name(tmp_path: Path) -> None:
    net = parse_net('layer { name: "ip" } layer { name: "ip" }')
    with pytest.raises(CaffeFormatError, match=r"'ip'.*ambiguous"):
        write_caffemodel(tmp_path / "w.caffemodel", net, {"ip": [np.zeros(1)]})


def test_non_real_blob(tmp_path: Path) -> None:
    with pytest.raises(CaffeFormatError, match="blob 0 has dtype complex"):
        write_caffemodel(
            tmp_path / "w.caffemodel",
            parse_net('layer { name: "ip" }'),
            {"ip": [np.zeros(2, complex)]},
        )


def test_bad_net_arguments(tmp_path: Path) -> None:
    with pytest.raises(CaffeFormatError, match="expected a V2 net"):
        write_prototxt(tmp_path / "n.prototxt", parse_net('layers { name: "r" type: RELU }'))
    with pytest.raises(TypeError):
        write_prototxt(tmp_path / "n.prototxt", "layer {}")
    with pytest.raises(ValueError, match="version"):
        write_prototxt(tmp_path / "n.prototxt", parse_net('layer { name: "r" }'), version="v3")


def test_write_replaces_existing_file_and_leaves_no_temporaries(tmp_path: Path, net: NetParameter) -> None:
    path = tmp_path / "net.prototxt"
    path.write_text("old")
    write_prototxt(path, net)
    assert read_prototxt(path) == net
    assert os.listdir(tmp_path) == ["net.prototxt"]


def test_failed_write_keeps_the_old_file(
    tmp_path: Path, net: NetParameter, weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.caffemodel"
    path.write_bytes(b"previous")

    def crash(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        write_caffemodel(path, net, weights)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["w.caffemodel"]
