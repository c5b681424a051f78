"""Probe jobs: what the parity levels ask of the real Caffe.

Each kind is a function ``f(job) -> {key: ndarray}`` (see
:mod:`legacy_caffe.job`), registered in :data:`KINDS`:

``environment``
    Nothing but the manifest.
``make_weights``
    inputs ``prototxt``; params ``seed``.  Fills every learnable blob from
    :func:`legacy_caffe.random_weights.random_blobs` (layers in
    ``net.params`` order) and writes ``weights.caffemodel`` with Caffe's
    own ``net.save``.  ``job.param_shapes``: ``[[layer, [shape, ...]], ...]``.
``layers``
    inputs ``prototxt``, ``weights``, ``input`` (a ``.npy`` of the net's
    input shape, preprocessed); params ``targets`` (a list of ``{"layer",
    "unit", "y", "x"}``, ``y``/``x`` null for 2-D tops), ``pool_masks``.
    Runs the net with ``force_backward: true`` and, with ``pool_masks``, a
    second top ``<layer>__mask`` on every MAX pooling layer, in which Caffe
    writes its argmax; forward once, then per target zeroes every diff, sets
    a one-hot in the target layer's top diff and runs
    ``backward(start=layer)``.  ``job.input_blob`` names the net's input.
``bench_fwd_bwd``
    inputs as ``layers``; params ``repeats``, ``warmup`` (default 1),
    ``target``, ``backward`` (default true).  Times full forward plus
    one-hot backward (forward alone with ``backward`` false);
    ``job.seconds`` lists the repeats.
``proto_schema``
    Writes ``schema.json``: every message and enum of
    ``caffe.proto.caffe_pb2`` by full name, fields with ``name``,
    ``number``, ``type``, ``label``, ``default`` (null when the ``.proto``
    gives none), ``type_name`` and ``packed``; enum values with ``name``
    and ``number``.

Array keys of ``layers``.  Caffe names are used verbatim (they may contain
``/``, as in ``inception_3a/1x1``), so build a key from a name, never split
one; the manifest's ``job`` section lists every name that has a key:

* ``param/<layer>/<i>``: learnable blob ``i`` of ``<layer>``
  (``job.param_counts``: ``[[layer, count], ...]``);
* ``blob/<blob>``: each blob of ``job.blobs`` after the forward pass;
* ``mask/<layer>``: the argmax of each layer in ``job.masks``, index
  ``h * W + w`` into its input plane, stored as float;
* ``diff/<k>/<blob>``: after the backward pass of target ``k``, the diff of
  each blob in ``job.targets[k].blobs``: the blobs produced at or before the
  target layer, the net input included.

Blobs Caffe inserts itself (the tops of its Split layers) and the mask
blobs have no ``blob/`` or ``diff/`` key.  ``job.layers`` is the net in
order, as ``{"name", "type", "bottoms", "tops"}`` with Split layers left out
and their tops read as the blob they copy; ``job.producer`` maps each blob
to the first layer that writes it; ``job.in_place`` lists ``[layer, blob]``
where a layer's top is its bottom (the blob then holds the last such
layer's output, e.g. ``conv1`` after ``relu1``).
"""

from __future__ import absolute_import, division, print_function

import json
import timeit

import numpy as np

from legacy_caffe.job import JobError
from legacy_caffe.random_weights import random_blobs

WEIGHTS_FILE = "weights.caffemodel"
PREPARED_NET_FILE = "prepared.prototxt"
SCHEMA_FILE = "schema.json"
MASK_SUFFIX = "__mask"


def environment(job):
    """Record the manifest only."""
    return {}


def make_weights(job):
    """Fill the net's learnable blobs with ``random_blobs`` and save them with ``net.save``."""
    caffe = job.caffe
    net = caffe.Net(job.input("prototxt"), caffe.TEST)
    shapes = [(name, [blob.data.shape for blob in blobs]) for name, blobs in net.params.items()]
    types = dict((name, layer.type) for name, layer in zip(net._layer_names, net.layers))
    for name, arrays in random_blobs(shapes, job.param("seed"), types):
        for blob, array in zip(net.params[name], arrays):
            blob.data[...] = array
    net.save(job.output(WEIGHTS_FILE))
    job.info["param_shapes"] = [[name, [list(shape) for shape in layer_shapes]] for name, layer_shapes in shapes]
    return {}


def layers(job):
    """Dump every parameter, blob, pooling mask and one-hot input gradient of the net."""
    net, masks = load_prepared(job, pool_masks=bool(job.param("pool_masks", False)))
    topology = _Topology(net, masks.values())
    job.info["input_blob"] = _set_input(net, job)
    net.forward()

    arrays = {}
    for layer, blobs in net.params.items():
        for index, blob in enumerate(blobs):
            arrays["param/%s/%d" % (layer, index)] = blob.data.copy()
    for name in topology.blobs:
        arrays["blob/" + name] = net.blobs[name].data.copy()
    for layer, mask in masks.items():
        arrays["mask/" + layer] = net.blobs[mask].data.copy()

    targets = []
    for number, target in enumerate(job.param("targets", [])):
        top = _one_hot_backward(net, topology, target)
        names = topology.produced_up_to(target["layer"])
        for name in names:
            arrays["diff/%d/%s" % (number, name)] = net.blobs[name].diff.copy()
        targets.append(dict(target, top=top, blobs=names))

    job.info.update(topology.describe())
    job.info.update(
        param_counts=[[layer, len(blobs)] for layer, blobs in net.params.items()], masks=masks, targets=targets
    )
    return arrays


def bench_fwd_bwd(job):
    """Time ``repeats`` full forward passes, each followed by a one-hot backward pass."""
    net, _ = load_prepared(job, pool_masks=False)
    topology = _Topology(net, ())
    job.info["input_blob"] = _set_input(net, job)
    target = job.param("target")
    backward = bool(job.param("backward", True))

    def step():
        net.forward()
        if backward:
            _one_hot_backward(net, topology, target)

    for _ in range(int(job.param("warmup", 1))):
        step()
    seconds = []
    for _ in range(int(job.param("repeats"))):
        start = timeit.default_timer()
        step()
        seconds.append(timeit.default_timer() - start)
    job.info["seconds"] = seconds
    return {}


def proto_schema(job):
    """Write every message and enum of Caffe's ``caffe_pb2`` to ``schema.json``."""
    from caffe.proto import caffe_pb2
    from google.protobuf.descriptor import FieldDescriptor

    types = _constant_names(FieldDescriptor, "TYPE_")
    labels = _constant_names(FieldDescriptor, "LABEL_")
    schema = {"messages": {}, "enums": {}}
    for enum in caffe_pb2.DESCRIPTOR.enum_types_by_name.values():
        _add_enum(schema, enum)
    pending = list(caffe_pb2.DESCRIPTOR.message_types_by_name.values())
    while pending:
        message = pending.pop()
        schema["messages"][message.full_name] = [_describe_field(field, types, labels) for field in message.fields]
        for enum in message.enum_types:
            _add_enum(schema, enum)
        pending.extend(message.nested_types)
    with open(job.output(SCHEMA_FILE), "w") as handle:
        json.dump(schema, handle, indent=1, sort_keys=True)
    job.info.update(messages=len(schema["messages"]), enums=len(schema["enums"]))
    return {}


KINDS = {
    "environment": environment,
    "make_weights": make_weights,
    "layers": layers,
    "bench_fwd_bwd": bench_fwd_bwd,
    "proto_schema": proto_schema,
}


def _constant_names(owner, prefix):
    """Map the values of ``owner``'s constants named ``<prefix>*`` to the rest of the name, lower-case."""
    return dict((getattr(owner, name), name[len(prefix) :].lower()) for name in dir(owner) if name.startswith(prefix))


def _describe_field(field, types, labels):
    referenced = field.message_type or field.enum_type
    return {
        "name": field.name,
        "number": field.number,
        "type": types[field.type],
        "label": labels[field.label],
        "default": field.default_value if field.has_default_value else None,
        "type_name": referenced.full_name if referenced is not None else None,
        "packed": field.GetOptions().packed,
    }


def _add_enum(schema, enum):
    schema["enums"][enum.full_name] = [{"name": value.name, "number": value.number} for value in enum.values]


def load_prepared(job, pool_masks):
    """Load the job's net and weights as ``layers`` runs them; return ``(net, {pool layer: mask blob})``.

    The prototxt is rewritten with Caffe's own protobuf schema, into the
    job folder: ``force_backward: true`` and, with ``pool_masks``, a mask
    top on every MAX pooling layer.
    """
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format

    param = caffe_pb2.NetParameter()
    with open(job.input("prototxt")) as handle:
        text_format.Merge(handle.read(), param)
    param.force_backward = True
    masks = _add_pool_masks(caffe_pb2, param) if pool_masks else {}
    path = job.scratch(PREPARED_NET_FILE)
    with open(path, "w") as handle:
        handle.write(text_format.MessageToString(param))
    net = job.caffe.Net(path, job.input("weights"), job.caffe.TEST)
    return net, dict((layer, mask) for layer, mask in masks.items() if mask in net.blobs)


def _add_pool_masks(caffe_pb2, param):
    """Give each MAX pooling layer (V1 or V2) a mask top; return ``{layer: mask blob}``."""
    pooling = [layer for layer in param.layer if layer.type == "Pooling"] + [
        layer for layer in param.layers if layer.type == caffe_pb2.V1LayerParameter.POOLING
    ]
    masks = {}
    for layer in pooling:
        if layer.pooling_param.pool == caffe_pb2.PoolingParameter.MAX:
            if len(layer.top) == 1:
                layer.top.append(layer.name + MASK_SUFFIX)
            masks[layer.name] = layer.top[1]
    return masks


def _set_input(net, job):
    """Copy the job's ``input`` array into the net's one input blob; return that blob's name."""
    if len(net.inputs) != 1:
        raise JobError("job %r needs a net with one input; this one has %s" % (job.kind, list(net.inputs)))
    name = net.inputs[0]
    array = np.load(job.input("input"), allow_pickle=False)
    blob = net.blobs[name]
    if array.shape != blob.data.shape:
        raise JobError(
            "the input array has shape %s; the net's input %r has shape %s" % (array.shape, name, blob.data.shape)
        )
    blob.data[...] = array
    return name


def _one_hot_backward(net, topology, target):
    """Zero every diff, put a one at ``target`` in its layer's top diff and backpropagate; return the top."""
    top = topology.top_of(target["layer"])
    diff = net.blobs[top].diff
    index = _one_hot_index(target, diff.shape)
    for blob in net.blobs.values():
        blob.diff[...] = 0
    diff[index] = 1
    net.backward(start=target["layer"])
    return top


def _one_hot_index(target, shape):
    spatial = (target.get("y"), target.get("x"))
    if len(shape) == 2 and spatial == (None, None):
        index = (target["unit"],)
    elif len(shape) == 4 and None not in spatial:
        index = (target["unit"],) + spatial
    else:
        raise JobError(
            "target %r does not address a top of shape %s: a 4-D top needs y and x, "
            "a 2-D top takes neither" % (target, shape)
        )
    index = (0,) + index
    if not all(0 <= i < n for i, n in zip(index, shape)):
        raise JobError("target %r lies outside its top of shape %s" % (target, shape))
    return index


def _inserted_split(layer_name, bottom):
    """Is this one of the Split layers Caffe inserts itself (``<blob>_<layer>_<i>_split``)?"""
    return layer_name.startswith(bottom + "_") and layer_name.endswith("_split")


class _Topology(object):
    """A loaded net in network order, without Caffe's Split layers and the given hidden blobs."""

    def __init__(self, net, hidden):
        hidden = set(hidden)
        copies = {}
        self.layers = []
        for name, layer in zip(net._layer_names, net.layers):
            bottoms = [copies.get(blob, blob) for blob in net.bottom_names[name]]
            tops = [blob for blob in net.top_names[name] if blob not in hidden]
            if layer.type == "Split" and _inserted_split(name, bottoms[0]):
                copies.update((top, bottoms[0]) for top in tops)
            else:
                self.layers.append({"name": name, "type": layer.type, "bottoms": bottoms, "tops": tops})
        hidden.update(copies)
        self.blobs = [name for name in net.blobs if name not in hidden]
        self.producer = {}
        for layer in self.layers:
            for top in layer["tops"]:
                self.producer.setdefault(top, layer["name"])
        self.in_place = [
            [layer["name"], top] for layer in self.layers for top in layer["tops"] if top in layer["bottoms"]
        ]
        self._position = dict((layer["name"], index) for index, layer in enumerate(self.layers))

    def position(self, layer):
        """Return the index of ``layer`` in :attr:`layers`; JobError if the net has no such layer."""
        if layer not in self._position:
            raise JobError(
                "the net has no layer %r; its layers: %s" % (layer, ", ".join(item["name"] for item in self.layers))
            )
        return self._position[layer]

    def top_of(self, layer):
        """Return the first top of ``layer``."""
        return self.layers[self.position(layer)]["tops"][0]

    def produced_up_to(self, layer):
        """Return the blobs first written at or before ``layer`` (net inputs included), in order."""
        last = self.position(layer)
        return [blob for blob in self.blobs if self._position.get(self.producer.get(blob), -1) <= last]

    def describe(self):
        """Return the manifest fields ``layers``, ``blobs``, ``producer`` and ``in_place``."""
        return {"layers": self.layers, "blobs": self.blobs, "producer": self.producer, "in_place": self.in_place}
