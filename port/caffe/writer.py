"""Write Caffe nets (prototxt) and weights (caffemodel) without Caffe.

The writers take a V2 ``caffe.NetParameter`` of :mod:`port.caffe.schema`
(as :func:`~port.caffe.reader.read_prototxt` returns it) and write it either
as current Caffe does (``version="v2"``: ``layer`` entries, ``BlobShape``)
or as a 2014 Caffe did (``version="v1"``: ``layers`` entries with enum types,
``blobs_lr`` / ``weight_decay`` lists and 4-D legacy blob dimensions), the
format of the BVLC reference caffemodels.  Reading a V1 file back gives the
original V2 net, up to explicit defaults that V1's positional lists need.

Files are replaced atomically: the bytes go to a temporary file in the
target's directory, which is flushed to disk and then renamed over the
target, so readers never see a partly written file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from google.protobuf import text_format
from google.protobuf.message import Message

from .errors import CaffeFormatError
from .schema import (
    V1_COMMON_LAYER_FIELDS,
    V1_LAYER_TYPES,
    V1_PARAM_SPEC_FIELDS,
    BlobProto,
    LayerParameter,
    NetParameter,
    V1LayerParameter,
    copy_fields,
)

__all__ = ["write_caffemodel", "write_prototxt"]

PathLike = str | os.PathLike[str]
Version = Literal["v2", "v1"]

_NET_FIELDS = frozenset(NetParameter.DESCRIPTOR.fields_by_name) - {"layer", "layers"}
_LAYER_FIELDS = frozenset(LayerParameter.DESCRIPTOR.fields_by_name) - {"blobs"}
_V1_COPIED_FIELDS = V1_COMMON_LAYER_FIELDS - {"blobs"}
_V1_EXPRESSIBLE_FIELDS = V1_COMMON_LAYER_FIELDS | {"type", "param"}
_V1_TYPE_ENUMS = {type_string: name for name, type_string in V1_LAYER_TYPES.items()}
_LEGACY_DIMS = ("num", "channels", "height", "width")
_INT32_MAX = 2**31 - 1
_LENGTH_DELIMITED = 2  # protobuf wire type of bytes, messages and packed repeated fields
_DATA_KEY = BlobProto.DESCRIPTOR.fields_by_name["data"].number << 3 | _LENGTH_DELIMITED


def write_caffemodel(
    path: PathLike,
    net: Message,
    weights: Mapping[str, Sequence[np.ndarray]],
    *,
    version: Version = "v2",
) -> None:
    """Write a binary caffemodel: the net's layers holding the given blobs.

    The layers, in order and with all their parameters, come from ``net``;
    their blobs come only from ``weights`` (blobs already in ``net`` are not
    written).  Values are stored as float32 ``data``, bit for bit when the
    arrays are float32; other real dtypes are rounded to float32 first.

    Args:
        path: The file to write (replaced atomically).
        net: A V2 ``caffe.NetParameter``.
        weights: Layer name -> that layer's blobs, in Caffe's order.
        version: ``"v2"`` for ``layer`` entries with ``BlobShape`` dims;
            ``"v1"`` for ``layers`` entries with enum types and legacy
            ``num``/``channels``/``height``/``width`` dims, the shape
            left-padded with 1s to four axes, as a 2014 Caffe wrote them.

    Raises:
        CaffeFormatError: If a weights entry names no layer of the net or a
            layer name the net uses twice, a blob is not real-valued, or (for
            ``"v1"``) the net cannot be expressed in V1 (see
            :func:`write_prototxt`) or a blob has more than four axes.
        TypeError: If ``net`` is not a ``NetParameter`` of this package.
        ValueError: If ``version`` is unknown.
        OSError: If the file cannot be written.
    """
    out = _encode_net(net, version, path)
    layers = _layers_by_name(out.layer if version == "v2" else out.layers, weights, path)
    for name, blobs in weights.items():
        for index, array in enumerate(blobs):
            _fill_blob(layers[name].blobs.add(), array, version, path, name, index)
    _write_atomically(path, out.SerializeToString())


def write_prototxt(path: PathLike, net: Message, *, version: Version = "v2") -> None:
    """Write a net definition in protobuf text format.

    Blobs are weights and belong in a caffemodel: any that ``net`` holds are
    not written.

    Args:
        path: The file to write (replaced atomically).
        net: A V2 ``caffe.NetParameter``.
        version: ``"v2"`` for ``layer { type: "Convolution" ... }`` entries;
            ``"v1"`` for ``layers { type: CONVOLUTION ... }`` entries, whose
            ``param`` specs become V1's ``param``, ``blob_share_mode``,
            ``blobs_lr`` and ``weight_decay`` lists.

    Raises:
        CaffeFormatError: For ``"v1"``, if a layer's type has no V1
            ``LayerType`` value (e.g. ``"Input"``) or the layer sets a field
            V1 layers lack (e.g. ``phase``, ``input_param``).
        TypeError: If ``net`` is not a ``NetParameter`` of this package.
        ValueError: If ``version`` is unknown.
        OSError: If the file cannot be written.
    """
    out = _encode_net(net, version, path)
    _write_atomically(path, text_format.MessageToString(out).encode("utf-8"))


def _encode_net(net: Message, version: Version, path: PathLike) -> Message:
    """A copy of ``net`` in the requested version, without any blobs."""
    if not isinstance(net, NetParameter):
        raise TypeError(f"expected a port.caffe NetParameter, got {type(net).__name__}")
    if version not in ("v2", "v1"):
        raise ValueError(f"version must be 'v2' or 'v1', not {version!r}")
    if net.layers:
        raise CaffeFormatError(
            "expected a V2 net; read_prototxt and read_caffemodel upgrade V1 nets",
            path=path,
            field="layers",
        )
    out = NetParameter()
    copy_fields(net, out, _NET_FIELDS)
    for layer in net.layer:
        if version == "v2":
            copy_fields(layer, out.layer.add(), _LAYER_FIELDS)
        else:
            _downgrade_layer(layer, out.layers.add(), path)
    return out


def _downgrade_layer(layer: Message, old: Message, path: PathLike) -> None:
    """Fill the V1 layer ``old`` from the V2 layer ``layer``."""
    for field, _ in layer.ListFields():
        if field.name not in _V1_EXPRESSIBLE_FIELDS:
            raise CaffeFormatError("V1 layers have no such field", path=path, layer=layer.name, field=field.name)
    copy_fields(layer, old, _V1_COPIED_FIELDS)
    if layer.HasField("type"):
        if layer.type not in _V1_TYPE_ENUMS:
            raise CaffeFormatError(
                f"type {layer.type!r} has no V1 LayerType value",
                path=path,
                layer=layer.name,
                field="type",
            )
        old.type = V1LayerParameter.LayerType.Value(_V1_TYPE_ENUMS[layer.type])
    for v1_field, spec_field in V1_PARAM_SPEC_FIELDS.items():
        set_at = [i for i, spec in enumerate(layer.param) if spec.HasField(spec_field)]
        if set_at:
            specs = layer.param[: set_at[-1] + 1]
            getattr(old, v1_field).extend(getattr(spec, spec_field) for spec in specs)


def _layers_by_name(layers: Sequence[Message], weights: Mapping[str, object], path: PathLike) -> dict[str, Message]:
    """Map each layer named in ``weights`` to its (unique) layer message."""
    found: dict[str, Message] = {}
    for layer in layers:
        if layer.name in weights:
            if layer.name in found:
                raise CaffeFormatError(
                    "two layers have this name, so its weights are ambiguous",
                    path=path,
                    layer=layer.name,
                )
            found[layer.name] = layer
    for name in weights:
        if name not in found:
            raise CaffeFormatError("weights given for a layer the net lacks", path=path, layer=name)
    return found


def _fill_blob(blob: Message, array: np.ndarray, version: Version, path: PathLike, layer: str, index: int) -> None:
    """Store ``array`` in ``blob``: its shape in the version's form, its values as float32."""
    array = np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise CaffeFormatError(
            f"blob {index} has dtype {array.dtype}; Caffe blobs hold real numbers",
            path=path,
            layer=layer,
        )
    if version == "v2":
        blob.shape.dim.extend(array.shape)
    else:
        legacy = (1,) * (4 - array.ndim) + array.shape
        if len(legacy) > 4 or max(legacy) > _INT32_MAX:
            raise CaffeFormatError(
                f"blob {index} of shape {array.shape} does not fit V1's four int32 dimensions",
                path=path,
                layer=layer,
            )
        for name, size in zip(_LEGACY_DIMS, legacy, strict=True):
            setattr(blob, name, size)
    if array.size:
        blob.MergeFromString(_packed_data(array.astype("<f4", copy=False).tobytes()))


def _packed_data(payload: bytes) -> bytes:
    """Wire-format bytes of ``BlobProto.data`` holding ``payload``.

    A packed repeated float is one length-delimited record of little-endian
    float32 values, so encoding it directly from the array's bytes and
    merging it into the message is exact and far faster than appending
    values one Python float at a time.
    """
    return _varint(_DATA_KEY) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint encoding of a non-negative integer."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _write_atomically(path: PathLike, data: bytes) -> None:
    """Replace ``path`` by a file holding ``data``, never leaving a partial file."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
