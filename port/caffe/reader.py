"""Read Caffe nets (prototxt) and weights (caffemodel) without Caffe.

Both readers return a current-format (V2) ``caffe.NetParameter`` of
:mod:`port.caffe.schema`, whose layers are in ``NetParameter.layer``.
Nets written with the deprecated V1 layers of 2014 (``layers { type:
CONVOLUTION ... }``), such as the BVLC reference CaffeNet caffemodel, are
upgraded on reading the way Caffe's ``UpgradeV1Net`` does it: same layer
names, blobs, bottoms, tops, rules and ``*_param`` messages; the type enum
becomes Caffe's type string; ``param``, ``blob_share_mode``, ``blobs_lr``
and ``weight_decay`` become ``param { name share_mode lr_mult decay_mult }``.

Caffe's other load-time upgrades do not change what a deploy net computes
and are not done here: top-level ``input`` fields stay where they are
(:func:`net_inputs` understands them), deprecated transformation fields of
V1 data layers stay in their ``*_param``, and obsolete ``param`` specs of
``BatchNorm`` layers stay too.  V0 nets (``layers { layer { ... } }``, from
before 2014) are refused.

Every defect of a file raises :class:`~port.caffe.errors.CaffeFormatError`,
naming the file and, where known, the line, layer and field.  Errors of the
file system (e.g. :class:`FileNotFoundError` for a missing file) propagate
unchanged.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from google.protobuf import text_format
from google.protobuf.message import DecodeError, Message

from .errors import CaffeFormatError
from .schema import (
    V1_COMMON_LAYER_FIELDS,
    V1_LAYER_TYPES,
    V1_PARAM_SPEC_FIELDS,
    NetParameter,
    V1LayerParameter,
    copy_fields,
)

__all__ = ["net_inputs", "read_caffemodel", "read_prototxt", "read_weights"]

PathLike = str | os.PathLike[str]

_LEGACY_DIMS = ("num", "channels", "height", "width")


def read_prototxt(path: PathLike) -> Message:
    """Read a net definition in protobuf text format.

    Args:
        path: A ``.prototxt`` file (UTF-8 text of a ``caffe.NetParameter``).

    Returns:
        The net as a V2 ``caffe.NetParameter``; V1 nets are upgraded.

    Raises:
        CaffeFormatError: If the text does not parse (the message gives the
            line and, for an unknown field, its name), if it mixes V1 and V2
            layers, is a V0 net, or has no layers at all.
        OSError: If the file cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CaffeFormatError(f"not UTF-8 text (invalid byte at offset {error.start})", path=path) from None
    return parse_prototxt(text, path)


def parse_prototxt(text: str, path: PathLike) -> Message:
    """:func:`read_prototxt` of the text itself; ``path`` names it in errors."""
    net = NetParameter()
    try:
        text_format.Parse(text, net)
    except text_format.ParseError as error:
        raise CaffeFormatError(_parse_error_reason(error), path=path, line=error.GetLine()) from None
    _check_layer_format(net, path)
    return _upgrade(net)


def read_caffemodel(path: PathLike) -> Message:
    """Read a binary net with its weights (a ``.caffemodel``).

    Every blob is checked against its shape (see :func:`read_weights`), so a
    file that protobuf can decode but whose blob data is incomplete is
    refused as well.

    Args:
        path: A binary ``caffe.NetParameter``, as Caffe's ``Net::ToProto``
            writes it.

    Returns:
        The net as a V2 ``caffe.NetParameter`` with the blobs in its layers;
        V1 nets are upgraded.

    Raises:
        CaffeFormatError: If the file is empty, truncated or corrupt, holds
            no layers, is a V0 net, mixes V1 and V2 layers, or has a blob
            whose data does not match its shape.
        OSError: If the file cannot be read.

    A file cut exactly between two layers is still a valid ``NetParameter``
    (protobuf has no end marker); it reads as the net's first layers.  Only
    comparison with the net definition can tell; Caffe itself would leave the
    missing layers at their initial values.
    """
    return _upgrade(_parse_caffemodel(path))


def read_weights(path: PathLike) -> OrderedDict[str, list[np.ndarray]]:
    """Read the learned blobs of a caffemodel as float32 arrays.

    A blob's shape is Caffe's (``Blob::FromProto``): the legacy 4-D
    ``(num, channels, height, width)`` exactly as stored if any of those four
    fields is set, as in caffemodels from 2014, else ``BlobShape.dim``.
    Legacy shapes are not squeezed: matching them to a layer's parameter
    shape (Caffe's ``ShapeEquals``) is left to the caller.  Blobs stored as
    ``double_data`` (which Caffe prefers to ``data`` when both are present)
    are rounded to float32, the precision of a ``Net<float>``.

    Args:
        path: A caffemodel file.

    Returns:
        Layer name -> that layer's blobs (weights first, then bias, ...), in
        file order; layers without blobs are left out.  The arrays are
        C-contiguous, writable and shared with nothing else.

    Raises:
        CaffeFormatError: As :func:`read_caffemodel`, naming file, layer,
            blob index and the expected and found value counts when a blob's
            data does not match its shape; also when two layers with blobs
            share a name.
        OSError: If the file cannot be read.
    """
    net = _parse_caffemodel(path)
    weights: OrderedDict[str, list[np.ndarray]] = OrderedDict()
    for layer in net.layer or net.layers:
        if not layer.blobs:
            continue
        if layer.name in weights:
            raise CaffeFormatError(
                "a second layer of this name has blobs; weights are matched by layer name",
                path=path,
                layer=layer.name,
            )
        weights[layer.name] = [_blob_array(blob) for blob in layer.blobs]
    return weights


def net_inputs(net: Message) -> OrderedDict[str, tuple[int, ...]]:
    """Return the net's input blobs and their shapes.

    Caffe has three ways to declare inputs, and a net may combine the last
    with either of the first two:

    * top-level ``input`` names with four ``input_dim`` values each;
    * top-level ``input`` names with one ``input_shape`` each;
    * ``Input`` layers, whose ``input_param`` has one ``shape`` per top or
      a single shape for all tops.

    Top-level inputs come first, as after Caffe's own upgrade of them into an
    ``Input`` layer, then the tops of ``Input`` layers in layer order.
    ``include`` / ``exclude`` rules of ``Input`` layers are not evaluated.

    Args:
        net: A V2 ``caffe.NetParameter`` (as the readers return it).

    Returns:
        Input blob name -> shape.

    Raises:
        CaffeFormatError: If names and shapes do not pair up, both
            ``input_dim`` and ``input_shape`` are given, a blob is declared
            twice, a dimension is negative, or the net still has V1 layers.
    """
    if net.layers:
        raise CaffeFormatError("net has V1 'layers'; read it with read_prototxt or read_caffemodel to upgrade it")
    inputs: OrderedDict[str, tuple[int, ...]] = OrderedDict()
    for name, shape in [*_top_level_inputs(net), *_input_layer_tops(net)]:
        if name in inputs:
            raise CaffeFormatError(f"input blob {name!r} is declared twice")
        if any(size < 0 for size in shape):
            raise CaffeFormatError(f"input blob {name!r} has a negative dimension: {shape}")
        inputs[name] = shape
    return inputs


def _top_level_inputs(net: Message) -> list[tuple[str, tuple[int, ...]]]:
    names = list(net.input)
    dims = list(net.input_dim)
    shapes = net.input_shape
    if dims and shapes:
        raise CaffeFormatError(
            "net gives both input_dim and input_shape; Caffe accepts only one of them",
            field="input_dim",
        )
    if shapes:
        if len(shapes) != len(names):
            raise CaffeFormatError(
                f"{len(names)} input blob(s) but {len(shapes)} input_shape entries",
                field="input_shape",
            )
        return [(name, tuple(shape.dim)) for name, shape in zip(names, shapes, strict=True)]
    if len(dims) != 4 * len(names):
        raise CaffeFormatError(
            f"{len(names)} input blob(s) need {4 * len(names)} input_dim values (4 per input), found {len(dims)}",
            field="input_dim",
        )
    return [(name, tuple(dims[4 * i : 4 * i + 4])) for i, name in enumerate(names)]


def _input_layer_tops(net: Message) -> Iterator[tuple[str, tuple[int, ...]]]:
    for layer in net.layer:
        if layer.type != "Input":
            continue
        shapes = list(layer.input_param.shape)
        if len(shapes) == 1:
            shapes *= len(layer.top)
        if len(shapes) != len(layer.top):
            raise CaffeFormatError(
                f"{len(layer.top)} top(s) but {len(shapes)} shapes; Caffe wants one shape, or one per top",
                layer=layer.name,
                field="input_param",
            )
        for top, shape in zip(layer.top, shapes, strict=True):
            yield top, tuple(shape.dim)


def _parse_error_reason(error: text_format.ParseError) -> str:
    """The text of a ``ParseError`` without its ``line:column :`` prefix."""
    reason = str(error)
    if error.GetLine() is None:
        return reason
    prefix = f"{error.GetLine()}:{error.GetColumn()} : "
    return f"{reason.removeprefix(prefix)} (column {error.GetColumn()})"


def _parse_caffemodel(path: PathLike) -> Message:
    """Decode a caffemodel and check its layers and blobs; V1 layers stay V1.

    :func:`read_weights` needs only names and blobs, which V1 and V2 layers
    both have, so it skips the upgrade and the copy of every blob it costs.
    """
    data = Path(path).read_bytes()
    if not data:
        raise CaffeFormatError("empty file; a caffemodel is a binary NetParameter", path=path)
    net = NetParameter()
    try:
        net.ParseFromString(data)
    except DecodeError as error:
        raise CaffeFormatError(f"not a binary NetParameter: truncated or corrupt ({error})", path=path) from None
    _check_layer_format(net, path)
    for layer in net.layer or net.layers:
        for index, blob in enumerate(layer.blobs):
            _check_blob(blob, path, layer.name, index)
    return net


def _check_layer_format(net: Message, path: PathLike) -> None:
    """Check that the net has layers, all V2 or all V1."""
    if any(layer.HasField("layer") for layer in net.layers):
        raise CaffeFormatError(
            "V0 nets are not supported (layers { layer { ... } }); "
            "convert it with Caffe's upgrade_net_proto_text or _binary",
            path=path,
        )
    if net.layer and net.layers:
        raise CaffeFormatError(
            "net mixes V1 'layers' and V2 'layer' entries; Caffe refuses such nets too",
            path=path,
        )
    if not net.layer and not net.layers:
        raise CaffeFormatError("no layers; not a Caffe net", path=path)


def _upgrade(net: Message) -> Message:
    """Upgrade the net's V1 layers, if any, to V2 layers in place."""
    for old in net.layers:
        _upgrade_layer(old, net.layer.add())
    net.ClearField("layers")
    return net


def _upgrade_layer(old: Message, new: Message) -> None:
    """Fill the V2 layer ``new`` from the V1 layer ``old``."""
    copy_fields(old, new, V1_COMMON_LAYER_FIELDS)
    if old.HasField("type"):
        new.type = V1_LAYER_TYPES[V1LayerParameter.LayerType.Name(old.type)]
    for v1_field, spec_field in V1_PARAM_SPEC_FIELDS.items():
        values = getattr(old, v1_field)
        for _ in range(len(values) - len(new.param)):
            new.param.add()
        for spec, value in zip(new.param, values, strict=False):
            setattr(spec, spec_field, value)


def _blob_shape(blob: Message) -> tuple[int, ...]:
    """The blob's shape by Caffe's rule: legacy 4-D if any legacy field is set."""
    if any(blob.HasField(name) for name in _LEGACY_DIMS):
        return tuple(getattr(blob, name) for name in _LEGACY_DIMS)
    return tuple(blob.shape.dim)


def _check_blob(blob: Message, path: PathLike, layer: str, index: int) -> None:
    """Check that the blob's stored values exactly fill its shape."""
    shape = _blob_shape(blob)
    if any(size < 0 for size in shape):
        raise CaffeFormatError(f"blob {index} has a negative dimension: {shape}", path=path, layer=layer)
    field = "double_data" if blob.double_data else "data"
    expected, found = math.prod(shape), len(getattr(blob, field))
    if found != expected:
        raise CaffeFormatError(
            f"blob {index} of shape {shape} needs {expected} values, found {found} in {field} "
            "(truncated or inconsistent file)",
            path=path,
            layer=layer,
        )


def _blob_array(blob: Message) -> np.ndarray:
    """The blob's values as a float32 array of its shape (already checked)."""
    if blob.double_data:
        values = np.asarray(blob.double_data, dtype=np.float64).astype(np.float32)
    else:
        values = np.asarray(blob.data, dtype=np.float32)
    return values.reshape(_blob_shape(blob))
