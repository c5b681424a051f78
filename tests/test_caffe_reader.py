"""port.caffe.reader: prototxt and caffemodel reading, V1 upgrade, inputs, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format

from port.caffe import (
    CaffeFormatError,
    net_inputs,
    read_caffemodel,
    read_prototxt,
    read_weights,
    write_caffemodel,
)
from port.caffe.schema import V1_LAYER_TYPES, BlobProto, NetParameter
from tests.shared_data import ORIGINAL_DEPLOY, needs

# A 2014 BVLC-style V1 net: train-time data layer, learning-rate lists, fillers.
V1_PROTOTXT = """\
name: "CaffeNetMini"
layers {
  name: "data"
  type: DATA
  top: "data"
  top: "label"
  data_param {
    source: "examples/imagenet/ilsvrc12_train_lmdb"
    backend: LMDB
    batch_size: 256
  }
  transform_param {
    crop_size: 227
    mean_file: "data/ilsvrc12/imagenet_mean.binaryproto"
    mirror: true
  }
  include: { phase: TRAIN }
}
layers {
  name: "conv1"
  type: CONVOLUTION
  bottom: "data"
  top: "conv1"
  blobs_lr: 1
  blobs_lr: 2
  weight_decay: 1
  weight_decay: 0
  convolution_param {
    num_output: 96
    kernel_size: 11
    stride: 4
    weight_filler { type: "gaussian" std: 0.01 }
    bias_filler { type: "constant" value: 0 }
  }
}
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers {
  name: "pool1"
  type: POOLING
  bottom: "conv1"
  top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 }
}
layers {
  name: "norm1"
  type: LRN
  bottom: "pool1"
  top: "norm1"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }
}
layers {
  name: "fc8"
  type: INNER_PRODUCT
  bottom: "norm1"
  top: "fc8"
  param: "shared_fc8_w"
  blob_share_mode: PERMISSIVE
  blobs_lr: 1
  inner_product_param { num_output: 1000 }
}
layers {
  name: "loss"
  type: SOFTMAX_LOSS
  bottom: "fc8"
  bottom: "label"
  top: "loss"
  loss_weight: 2
}
"""

V2_PROTOTXT = """\
name: "mini"
input: "data"
input_dim: 1
input_dim: 3
input_dim: 8
input_dim: 8
layer {
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  convolution_param { num_output: 2 kernel_size: 3 }
}
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer {
  name: "fc"
  type: "InnerProduct"
  bottom: "conv1"
  top: "fc"
  inner_product_param { num_output: 3 }
}
"""

MINI_WEIGHTS = {
    "conv1": [
        np.arange(54, dtype=np.float32).reshape(2, 3, 3, 3),
        np.array([0.5, -0.5], np.float32),
    ],
    "fc": [np.full((3, 72), 0.25, np.float32), np.array([1, 2, 3], np.float32)],
}


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


@pytest.fixture()
def mini_model(tmp_path: Path) -> Path:
    """A V2 caffemodel of V2_PROTOTXT holding MINI_WEIGHTS."""
    net = read_prototxt(write(tmp_path / "mini.prototxt", V2_PROTOTXT))
    write_caffemodel(tmp_path / "mini.caffemodel", net, MINI_WEIGHTS)
    return tmp_path / "mini.caffemodel"


def net_with_blob(blob: BlobProto, name: str = "ip") -> NetParameter:
    net = NetParameter()
    layer = net.layer.add(name=name, type="InnerProduct")
    layer.blobs.add().CopyFrom(blob)
    return net


# --- prototxt ---------------------------------------------------------------------------


def test_v2_prototxt_parses(tmp_path: Path) -> None:
    net = read_prototxt(write(tmp_path / "net.prototxt", V2_PROTOTXT))
    assert [(layer.name, layer.type) for layer in net.layer] == [
        ("conv1", "Convolution"),
        ("relu1", "ReLU"),
        ("fc", "InnerProduct"),
    ]
    assert list(net.layer[0].convolution_param.kernel_size) == [3]


def test_v1_prototxt_is_upgraded(tmp_path: Path) -> None:
    net = read_prototxt(write(tmp_path / "v1.prototxt", V1_PROTOTXT))
    assert len(net.layers) == 0
    assert [(layer.name, layer.type) for layer in net.layer] == [
        ("data", "Data"),
        ("conv1", "Convolution"),
        ("relu1", "ReLU"),
        ("pool1", "Pooling"),
        ("norm1", "LRN"),
        ("fc8", "InnerProduct"),
        ("loss", "SoftmaxWithLoss"),
    ]
    data, conv1, _, pool1, norm1, fc8, loss = net.layer
    assert list(data.top) == ["data", "label"]
    assert data.data_param.batch_size == 256
    assert data.data_param.backend == data.data_param.LMDB
    assert data.transform_param.crop_size == 227 and data.transform_param.mirror
    assert [rule.phase for rule in data.include] == [0]  # TRAIN
    assert [(p.lr_mult, p.decay_mult) for p in conv1.param] == [(1, 1), (2, 0)]
    assert conv1.convolution_param.weight_filler.std == pytest.approx(0.01)
    assert conv1.convolution_param.bias_filler.type == "constant"
    assert pool1.pooling_param.pool == pool1.pooling_param.MAX
    assert norm1.lrn_param.alpha == pytest.approx(1e-4)
    assert len(fc8.param) == 1
    assert fc8.param[0].name == "shared_fc8_w"
    assert fc8.param[0].share_mode == fc8.param[0].PERMISSIVE
    assert fc8.param[0].lr_mult == 1 and not fc8.param[0].HasField("decay_mult")
    assert list(loss.bottom) == ["fc8", "label"] and list(loss.loss_weight) == [2]


@pytest.mark.parametrize(
    ("enum_name", "type_string"),
    [
        ("CONVOLUTION", "Convolution"),
        ("INNER_PRODUCT", "InnerProduct"),
        ("LRN", "LRN"),
        ("RELU", "ReLU"),
        ("POOLING", "Pooling"),
        ("DROPOUT", "Dropout"),
        ("SOFTMAX", "Softmax"),
        ("CONCAT", "Concat"),
        ("ELTWISE", "Eltwise"),
        ("FLATTEN", "Flatten"),
        ("SPLIT", "Split"),
        ("DATA", "Data"),
        ("SOFTMAX_LOSS", "SoftmaxWithLoss"),
        ("TANH", "TanH"),
        ("IM2COL", "Im2col"),
        ("HDF5_DATA", "HDF5Data"),
        ("NONE", ""),
    ],
)
def test_v1_layer_type_names(enum_name: str, type_string: str, tmp_path: Path) -> None:
    text = f'layers {{ name: "x" type: {enum_name} }}'
    net = read_prototxt(write(tmp_path / "v1.prototxt", text))
    assert net.layer[0].type == type_string


def test_every_v1_layer_type_upgrades_to_a_distinct_type(tmp_path: Path) -> None:
    text = "".join(f'layers {{ name: "{name}" type: {name} }}\n' for name in V1_LAYER_TYPES)
    net = read_prototxt(write(tmp_path / "v1.prototxt", text))
    types = [layer.type for layer in net.layer]
    assert types == list(V1_LAYER_TYPES.values())
    assert len(set(types)) == len(types)


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.prototxt", 'name: "x"\nlayer {\n  name: "a"\n  kernel: 3\n}\n')
    with pytest.raises(CaffeFormatError) as caught:
        read_prototxt(path)
    assert caught.value.line == 4
    assert f"{path}:4" in str(caught.value) and '"kernel"' in str(caught.value)


def test_prototxt_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.prototxt", 'layer { name: "a" ')
    with pytest.raises(CaffeFormatError, match=r"bad\.prototxt"):
        read_prototxt(path)


def test_prototxt_that_is_not_text(tmp_path: Path) -> None:
    path = write(tmp_path / "binary.prototxt", b"\x80\x81\xfe")
    with pytest.raises(CaffeFormatError, match="not UTF-8"):
        read_prototxt(path)


def test_prototxt_without_layers(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.prototxt", 'name: "nothing"\n')
    with pytest.raises(CaffeFormatError, match="no layers"):
        read_prototxt(path)


def test_mixed_v1_and_v2_layers_are_refused(tmp_path: Path) -> None:
    text = 'layer { name: "a" type: "ReLU" }\nlayers { name: "b" type: RELU }\n'
    with pytest.raises(CaffeFormatError, match="mixes V1"):
        read_prototxt(write(tmp_path / "mixed.prototxt", text))


def test_v0_prototxt_is_refused(tmp_path: Path) -> None:
    text = 'layers { layer { name: "conv1" type: "conv" num_output: 96 } bottom: "data" }\n'
    with pytest.raises(CaffeFormatError, match="V0 nets are not supported"):
        read_prototxt(write(tmp_path / "v0.prototxt", text))


@pytest.mark.parametrize("reader", [read_prototxt, read_caffemodel, read_weights])
def test_missing_file(reader, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent"):
        reader(tmp_path / "absent")


# --- caffemodel -------------------------------------------------------------------------


def test_read_weights_gives_float32_blobs_in_file_order(mini_model: Path) -> None:
    weights = read_weights(mini_model)
    assert list(weights) == ["conv1", "fc"]
    for name, blobs in MINI_WEIGHTS.items():
        assert len(weights[name]) == len(blobs)
        for got, expected in zip(weights[name], blobs, strict=True):
            assert got.dtype == np.float32 and got.flags.writeable
            np.testing.assert_array_equal(got, expected)


def test_read_caffemodel_keeps_structure_and_blobs(mini_model: Path) -> None:
    net = read_caffemodel(mini_model)
    assert [layer.name for layer in net.layer] == ["conv1", "relu1", "fc"]
    assert net.layer[2].inner_product_param.num_output == 3
    assert [list(blob.shape.dim) for blob in net.layer[0].blobs] == [[2, 3, 3, 3], [2]]


def _layer_end_offsets(model: bytes) -> list[int]:
    """Byte offsets at which each top-level layer record of a V2 caffemodel ends."""
    full = NetParameter.FromString(model)
    offsets = []
    for count in range(1, len(full.layer) + 1):
        prefix = NetParameter()
        prefix.CopyFrom(full)
        del prefix.layer[count:]
        encoded = prefix.SerializeToString()
        assert model.startswith(encoded)
        offsets.append(len(encoded))
    return offsets


def test_truncated_inside_a_blob(mini_model: Path, tmp_path: Path) -> None:
    model = mini_model.read_bytes()
    conv1_end = _layer_end_offsets(model)[0]
    path = write(tmp_path / "cut.caffemodel", model[: conv1_end - 40])
    with pytest.raises(CaffeFormatError, match="truncated or corrupt") as caught:
        read_weights(path)
    assert str(path) in str(caught.value)


def test_truncated_one_byte_short_of_a_layer_end(mini_model: Path, tmp_path: Path) -> None:
    model = mini_model.read_bytes()
    for end in _layer_end_offsets(model):
        path = write(tmp_path / "cut.caffemodel", model[: end - 1])
        with pytest.raises(CaffeFormatError, match=r"cut\.caffemodel"):
            read_caffemodel(path)


def test_cut_exactly_between_layers_reads_as_the_first_layers(mini_model: Path, tmp_path: Path) -> None:
    """No format can tell this cut from a shorter net; callers must compare with the net."""
    model = mini_model.read_bytes()
    path = write(tmp_path / "cut.caffemodel", model[: _layer_end_offsets(model)[0]])
    assert list(read_weights(path)) == ["conv1"]


def test_truncated_v1_caffemodel(tmp_path: Path) -> None:
    net = read_prototxt(write(tmp_path / "net.prototxt", V2_PROTOTXT))
    write_caffemodel(tmp_path / "v1.caffemodel", net, MINI_WEIGHTS, version="v1")
    model = (tmp_path / "v1.caffemodel").read_bytes()
    path = write(tmp_path / "cut.caffemodel", model[: len(model) // 2])
    with pytest.raises(CaffeFormatError, match=r"cut\.caffemodel"):
        read_weights(path)


@pytest.mark.parametrize(
    "content",
    [b"\xff" * 64, b"\x00\x01\x02garbage", V2_PROTOTXT.encode()],
    ids=["ff", "zero", "text"],
)
def test_garbage_is_not_a_caffemodel(content: bytes, tmp_path: Path) -> None:
    path = write(tmp_path / "garbage.caffemodel", content)
    with pytest.raises(CaffeFormatError, match=r"garbage\.caffemodel"):
        read_caffemodel(path)


def test_empty_caffemodel(tmp_path: Path) -> None:
    with pytest.raises(CaffeFormatError, match="empty file"):
        read_caffemodel(write(tmp_path / "empty.caffemodel", b""))


def test_netparameter_without_layers_is_not_a_caffemodel(tmp_path: Path) -> None:
    path = write(tmp_path / "nolayers.caffemodel", NetParameter(name="x").SerializeToString())
    with pytest.raises(CaffeFormatError, match="no layers"):
        read_weights(path)


def test_blob_count_mismatch_names_file_layer_blob_and_counts(tmp_path: Path) -> None:
    net = net_with_blob(BlobProto(data=[0.0] * 6, shape={"dim": [2, 3]}))
    net.layer[0].blobs.add(data=[1.0] * 5, shape={"dim": [2, 3]})
    path = write(tmp_path / "short.caffemodel", net.SerializeToString())
    with pytest.raises(CaffeFormatError) as caught:
        read_weights(path)
    message = str(caught.value)
    assert caught.value.layer == "ip"
    for part in [str(path), "'ip'", "blob 1", "needs 6 values", "found 5"]:
        assert part in message


def test_legacy_dims_are_kept_as_stored_and_win_over_shape(tmp_path: Path) -> None:
    """Caffe's Blob::FromProto: any legacy dimension field means the 4-D legacy shape."""
    blob = BlobProto(num=1, channels=1, height=2, width=3, data=range(6), shape={"dim": [6]})
    path = write(tmp_path / "legacy.caffemodel", net_with_blob(blob).SerializeToString())
    (array,) = read_weights(path)["ip"]
    assert array.shape == (1, 1, 2, 3)
    np.testing.assert_array_equal(array.ravel(), np.arange(6, dtype=np.float32))


def test_double_data_is_read_and_rounded_to_float32(tmp_path: Path) -> None:
    values = [0.1, 1 / 3, -2.5]
    blob = BlobProto(double_data=values, data=[9.0], shape={"dim": [3]})
    path = write(tmp_path / "double.caffemodel", net_with_blob(blob).SerializeToString())
    (array,) = read_weights(path)["ip"]
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, np.array(values, np.float64).astype(np.float32))


def test_blob_without_any_shape_is_a_scalar(tmp_path: Path) -> None:
    path = write(tmp_path / "scalar.caffemodel", net_with_blob(BlobProto(data=[4.0])).SerializeToString())
    (array,) = read_weights(path)["ip"]
    assert array.shape == () and array == 4.0


def test_negative_blob_dimension(tmp_path: Path) -> None:
    blob = BlobProto(num=-1, channels=1, height=1, width=1)
    path = write(tmp_path / "neg.caffemodel", net_with_blob(blob).SerializeToString())
    with pytest.raises(CaffeFormatError, match="negative"):
        read_caffemodel(path)


def test_duplicate_layer_names_with_blobs(tmp_path: Path) -> None:
    net = net_with_blob(BlobProto(data=[1.0], shape={"dim": [1]}))
    net.layer.add().CopyFrom(net.layer[0])
    path = write(tmp_path / "dup.caffemodel", net.SerializeToString())
    with pytest.raises(CaffeFormatError, match=r"'ip'.*second layer"):
        read_weights(path)


def test_v1_caffemodel_with_legacy_blobs(tmp_path: Path) -> None:
    """Like the BVLC reference CaffeNet: V1 layers, 4-D legacy dims, blobs_lr."""
    net = NetParameter(name="CaffeNet")
    fc8 = net.layers.add(name="fc8", type="INNER_PRODUCT", bottom=["fc7"], top=["fc8"])
    fc8.blobs_lr.extend([1, 2])
    fc8.blobs.add(num=1, channels=1, height=3, width=2, data=range(6))
    fc8.blobs.add(num=1, channels=1, height=1, width=3, data=[7, 8, 9])
    net.layers.add(name="prob", type="SOFTMAX", bottom=["fc8"], top=["prob"])
    path = write(tmp_path / "v1.caffemodel", net.SerializeToString())
    weights = read_weights(path)
    assert [array.shape for array in weights["fc8"]] == [(1, 1, 3, 2), (1, 1, 1, 3)]
    upgraded = read_caffemodel(path)
    assert [(layer.name, layer.type) for layer in upgraded.layer] == [
        ("fc8", "InnerProduct"),
        ("prob", "Softmax"),
    ]
    assert [p.lr_mult for p in upgraded.layer[0].param] == [1, 2]
    assert len(upgraded.layer[0].blobs) == 2


def test_mixed_caffemodel_is_refused(tmp_path: Path) -> None:
    net = NetParameter()
    net.layer.add(name="a", type="ReLU")
    net.layers.add(name="b", type="RELU")
    with pytest.raises(CaffeFormatError, match="mixes V1"):
        read_caffemodel(write(tmp_path / "mixed.caffemodel", net.SerializeToString()))


def test_v0_caffemodel_is_refused(tmp_path: Path) -> None:
    net = NetParameter()
    net.layers.add().layer.name = "conv1"
    with pytest.raises(CaffeFormatError, match="V0 nets are not supported"):
        read_caffemodel(write(tmp_path / "v0.caffemodel", net.SerializeToString()))


# --- net_inputs -------------------------------------------------------------------------


def parse(text: str) -> NetParameter:
    return text_format.Parse(text, NetParameter())


def test_inputs_from_input_dim() -> None:
    net = parse('input: "a" input: "b" input_dim: [1, 3, 4, 5, 2, 1, 7, 7]')
    assert net_inputs(net) == {"a": (1, 3, 4, 5), "b": (2, 1, 7, 7)}
    assert list(net_inputs(net)) == ["a", "b"]


def test_inputs_from_input_shape() -> None:
    net = parse('input: "a" input_shape { dim: [10, 4] } input: "b" input_shape { dim: [] }')
    assert net_inputs(net) == {"a": (10, 4), "b": ()}


def test_inputs_from_input_layers_one_shape_each_or_shared() -> None:
    net = parse(
        """
        layer { name: "in" type: "Input" top: "x" top: "y"
                input_param { shape { dim: [1, 3, 9, 9] } shape { dim: [1, 10] } } }
        layer { name: "both" type: "Input" top: "u" top: "v" input_param { shape { dim: [2, 2] } } }
        layer { name: "relu" type: "ReLU" bottom: "x" top: "x" }
        """
    )
    assert list(net_inputs(net).items()) == [
        ("x", (1, 3, 9, 9)),
        ("y", (1, 10)),
        ("u", (2, 2)),
        ("v", (2, 2)),
    ]


def test_top_level_inputs_come_before_input_layers() -> None:
    net = parse(
        'layer { name: "in" type: "Input" top: "late" input_param { shape { dim: 1 } } }'
        'input: "early" input_dim: [1, 1, 1, 1]'
    )
    assert list(net_inputs(net)) == ["early", "late"]


def test_net_without_inputs() -> None:
    assert net_inputs(parse('layer { name: "d" type: "Data" top: "data" }')) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('input: "a" input_dim: [1, 3, 4]', "need 4 input_dim values"),
        ('input: "a"', "need 4 input_dim values"),
        ("input_dim: [1, 3, 4, 4]", "need 0 input_dim values"),
        ('input: "a" input: "b" input_shape { dim: 1 }', "2 input blob"),
        ('input: "a" input_dim: [1, 1, 1, 1] input_shape { dim: 1 }', "both input_dim and"),
        ('input: "a" input: "a" input_dim: [1, 1, 1, 1, 1, 1, 1, 1]', "declared twice"),
        ('input: "a" input_dim: [1, -3, 1, 1]', "negative"),
        (
            'layer { name: "in" type: "Input" top: "x" top: "y" top: "z"'
            " input_param { shape { dim: 1 } shape { dim: 2 } } }",
            "3 top",
        ),
        ('layer { name: "in" type: "Input" top: "x" }', "1 top"),
    ],
)
def test_inconsistent_inputs(text: str, message: str) -> None:
    with pytest.raises(CaffeFormatError, match=message):
        net_inputs(parse(text))


def test_inputs_of_a_v1_net_need_upgrade() -> None:
    with pytest.raises(CaffeFormatError, match="V1"):
        net_inputs(parse('layers { name: "x" type: RELU }'))


# --- the original MFV deploy net ----------------------------------------------------------


@needs(ORIGINAL_DEPLOY)
def test_original_alexnet_deploy() -> None:
    net = read_prototxt(ORIGINAL_DEPLOY)
    assert net_inputs(net) == {"data": (1, 3, 227, 227)}
    conv, relu, pool, lrn = "Convolution", "ReLU", "Pooling", "LRN"
    ip, drop = "InnerProduct", "Dropout"
    assert [(layer.name, layer.type) for layer in net.layer] == [
        ("conv1", conv), ("relu1", relu), ("pool1", pool), ("norm1", lrn),
        ("conv2", conv), ("relu2", relu), ("pool2", pool), ("norm2", lrn),
        ("conv3", conv), ("relu3", relu), ("conv4", conv), ("relu4", relu),
        ("conv5", conv), ("relu5", relu), ("pool5", pool),
        ("fc6", ip), ("relu6", relu), ("drop6", drop),
        ("fc7", ip), ("relu7", relu), ("drop7", drop),
        ("fc8", ip), ("prob", "Softmax"),
    ]  # fmt: skip
