"""port.caffe.schema against the real Caffe's caffe_pb2 (Debian bullseye).

Every field and enum value of the schema is compared with Caffe's own
descriptors, and files are exchanged both ways with Caffe's protobuf code.
Caffe runs in a Debian root through ``chroot``; see :func:`caffe_python`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from port.caffe import (
    read_caffemodel,
    read_prototxt,
    read_weights,
    schema,
    write_caffemodel,
    write_prototxt,
)

OUR_FILE = schema.NetParameter.DESCRIPTOR.file
OUR_MESSAGES = sorted(OUR_FILE.message_types_by_name)


@pytest.fixture(scope="session")
def caffe_python(legacy_stack) -> Callable[..., bytes]:
    """Run a Python 3 script with the legacy stack's Debian Caffe; returns its stdout."""

    def run(script: str, stdin: bytes = b"") -> bytes:
        command = ["chroot", str(legacy_stack.root), "/usr/bin/python3", "-c", script]
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=300)
        if done.returncode:
            pytest.fail(f"{' '.join(command[:3])} failed:\n{done.stderr.decode(errors='replace')}")
        return done.stdout

    return run


@pytest.fixture(scope="session")
def caffe_pool(caffe_python: Callable[..., bytes]) -> descriptor_pool.DescriptorPool:
    """Caffe's caffe.proto, loaded into a pool of this interpreter's protobuf."""
    script = (
        "import base64\n"
        "from caffe.proto import caffe_pb2\n"
        "print(base64.b64encode(caffe_pb2.DESCRIPTOR.serialized_pb).decode())\n"
    )
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(base64.b64decode(caffe_python(script)))
    return pool


def _field_facts(field: FieldDescriptor) -> dict[str, object]:
    nested = field.message_type or field.enum_type
    return {
        "number": field.number,
        "type": field.type,
        "repeated": field.is_repeated,
        "required": field.is_required,
        "packed": field.is_packed,
        "type_name": nested.full_name if nested else None,
        "has_default": field.has_default_value,
        "default": field.default_value,
    }


def _enum_values(message: Descriptor) -> dict[str, dict[str, int]]:
    return {enum.name: {value.name: value.number for value in enum.values} for enum in message.enum_types}


@pytest.mark.legacy
@pytest.mark.parametrize("name", OUR_MESSAGES)
def test_message_matches_caffe(name: str, caffe_pool: descriptor_pool.DescriptorPool) -> None:
    ours = OUR_FILE.message_types_by_name[name]
    caffe = caffe_pool.FindMessageTypeByName(ours.full_name)
    assert [f.name for f in ours.fields] == [f.name for f in caffe.fields]
    for field in ours.fields:
        expected = _field_facts(caffe.fields_by_name[field.name])
        assert _field_facts(field) == expected, f"{name}.{field.name}"
    assert _enum_values(ours) == _enum_values(caffe)


@pytest.mark.legacy
def test_file_level_enums_match_caffe(caffe_pool: descriptor_pool.DescriptorPool) -> None:
    for enum in OUR_FILE.enum_types_by_name.values():
        caffe = caffe_pool.FindEnumTypeByName(enum.full_name)
        assert {v.name: v.number for v in enum.values} == {v.name: v.number for v in caffe.values}


@pytest.mark.legacy
def test_schema_holds_every_message_a_net_can_contain(
    caffe_pool: descriptor_pool.DescriptorPool,
) -> None:
    reachable: set[str] = set()
    pending = [caffe_pool.FindMessageTypeByName("caffe.NetParameter")]
    while pending:
        message = pending.pop()
        if message.name not in reachable:
            reachable.add(message.name)
            pending.extend(f.message_type for f in message.fields if f.message_type)
    assert set(OUR_MESSAGES) == reachable


def test_message_classes_are_caffes_messages() -> None:
    assert schema.NetParameter.DESCRIPTOR.full_name == "caffe.NetParameter"
    assert schema.V1LayerParameter.CONVOLUTION == 4
    assert schema.message_class("PReLUParameter").DESCRIPTOR.full_name == "caffe.PReLUParameter"
    with pytest.raises(KeyError):
        schema.message_class("SolverParameter")


def test_v1_common_fields_cover_the_v1_layer() -> None:
    v1_fields = set(schema.V1LayerParameter.DESCRIPTOR.fields_by_name)
    special = {"type", "layer", *schema.V1_PARAM_SPEC_FIELDS}
    assert v1_fields - special == schema.V1_COMMON_LAYER_FIELDS
    assert {"name", "bottom", "blobs", "convolution_param"} <= schema.V1_COMMON_LAYER_FIELDS
    spec_fields = set(schema.ParamSpec.DESCRIPTOR.fields_by_name)
    assert set(schema.V1_PARAM_SPEC_FIELDS.values()) == spec_fields


_CAFFE_SUMMARY = """
import hashlib, json, struct, sys
from google.protobuf import text_format
from caffe.proto import caffe_pb2
net = caffe_pb2.NetParameter()
data = sys.stdin.buffer.read()
if data.startswith(b"TEXT"):
    text_format.Merge(data[4:].decode(), net)
else:
    net.ParseFromString(data)
layers = []
for layer in list(net.layer) + list(net.layers):
    kind = layer.type if isinstance(layer.type, str) else layer.LayerType.Name(layer.type)
    blobs = []
    for blob in layer.blobs:
        legacy = [blob.num, blob.channels, blob.height, blob.width]
        raw = struct.pack("<%df" % len(blob.data), *blob.data)
        blobs.append([list(blob.shape.dim), legacy, hashlib.sha256(raw).hexdigest()])
    layers.append([layer.name, kind, blobs])
print(json.dumps(layers))
"""

_NET = """
name: "tiny"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
layer {
  name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 decay_mult: 1 } param { lr_mult: 2 decay_mult: 0 }
  convolution_param { num_output: 4 kernel_size: 3 }
}
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer {
  name: "fc" type: "InnerProduct" bottom: "conv1" top: "fc"
  inner_product_param { num_output: 5 }
}
"""


@pytest.fixture()
def tiny_net_and_weights(tmp_path: Path) -> tuple[object, dict[str, list[np.ndarray]]]:
    (tmp_path / "net.prototxt").write_text(_NET)
    net = read_prototxt(tmp_path / "net.prototxt")
    rng = np.random.default_rng(7)
    weights = {
        "conv1": [
            rng.standard_normal((4, 3, 3, 3), np.float32),
            rng.standard_normal(4, np.float32),
        ],
        "fc": [rng.standard_normal((5, 144), np.float32), rng.standard_normal(5, np.float32)],
    }
    return net, weights


@pytest.mark.legacy
@pytest.mark.parametrize("version", ["v2", "v1"])
def test_caffe_reads_written_caffemodel(
    version: str, tmp_path: Path, tiny_net_and_weights, caffe_python: Callable[..., bytes]
) -> None:
    net, weights = tiny_net_and_weights
    write_caffemodel(tmp_path / "w.caffemodel", net, weights, version=version)
    summary = json.loads(caffe_python(_CAFFE_SUMMARY, (tmp_path / "w.caffemodel").read_bytes()))
    v1_types = {"Convolution": "CONVOLUTION", "ReLU": "RELU", "InnerProduct": "INNER_PRODUCT"}
    assert [(name, kind) for name, kind, _ in summary] == [
        (layer.name, layer.type if version == "v2" else v1_types[layer.type]) for layer in net.layer
    ]
    for name, _, blobs in summary:
        assert len(blobs) == len(weights.get(name, []))
        for (dims, legacy, digest), array in zip(blobs, weights.get(name, []), strict=True):
            if version == "v2":
                assert (tuple(dims), legacy) == (array.shape, [0, 0, 0, 0])
            else:
                assert (dims, tuple(legacy)) == ([], (1,) * (4 - array.ndim) + array.shape)
            assert digest == hashlib.sha256(array.astype("<f4").tobytes()).hexdigest()


@pytest.mark.legacy
def test_caffe_reads_written_v1_prototxt(
    tmp_path: Path, tiny_net_and_weights, caffe_python: Callable[..., bytes]
) -> None:
    net, _ = tiny_net_and_weights
    write_prototxt(tmp_path / "net.prototxt", net, version="v1")
    text = (tmp_path / "net.prototxt").read_bytes()
    summary = json.loads(caffe_python(_CAFFE_SUMMARY, b"TEXT" + text))
    assert [kind for _, kind, _ in summary] == ["CONVOLUTION", "RELU", "INNER_PRODUCT"]


_CAFFE_2014_SNAPSHOT = """
import sys
from caffe.proto import caffe_pb2
net = caffe_pb2.NetParameter(name="CaffeNet")
conv = net.layers.add(name="conv1", type=caffe_pb2.V1LayerParameter.CONVOLUTION)
conv.bottom.append("data"); conv.top.append("conv1")
conv.blobs_lr.extend([1, 2]); conv.weight_decay.extend([1, 0])
conv.convolution_param.num_output = 2
conv.convolution_param.kernel_size.append(1)
weights = conv.blobs.add(num=2, channels=3, height=1, width=1)
weights.data.extend([0.5 * i for i in range(6)])
bias = conv.blobs.add(num=1, channels=1, height=1, width=2)
bias.data.extend([-1.0, 1.0])
net.layers.add(name="relu1", type=caffe_pb2.V1LayerParameter.RELU, bottom=["conv1"], top=["conv1"])
sys.stdout.buffer.write(net.SerializeToString())
"""


@pytest.mark.legacy
def test_reads_v1_caffemodel_made_by_caffe(tmp_path: Path, caffe_python: Callable[..., bytes]) -> None:
    (tmp_path / "old.caffemodel").write_bytes(caffe_python(_CAFFE_2014_SNAPSHOT))
    net = read_caffemodel(tmp_path / "old.caffemodel")
    assert [(layer.name, layer.type) for layer in net.layer] == [
        ("conv1", "Convolution"),
        ("relu1", "ReLU"),
    ]
    assert [(p.lr_mult, p.decay_mult) for p in net.layer[0].param] == [(1, 1), (2, 0)]
    weights = read_weights(tmp_path / "old.caffemodel")
    assert list(weights) == ["conv1"]
    np.testing.assert_array_equal(weights["conv1"][0], np.arange(6, dtype=np.float32).reshape(2, 3, 1, 1) * 0.5)
    np.testing.assert_array_equal(weights["conv1"][1], np.array([[[[-1.0, 1.0]]]], np.float32))
