"""A Caffe net as an ``nn.Module`` that exposes every blob by name.

Caffe names data, not operations: a layer reads its bottom blobs and writes
its top blobs, and an in-place layer (top == bottom, e.g. ReLU and Dropout)
overwrites the blob it reads.  ``CaffeNetwork.run`` keeps two views of that:

* ``blobs[name]``: the blob's value after the forward pass - what
  ``net.blobs[name].data`` holds in pycaffe (``conv1`` after ``relu1``);
* ``produced[name]``: the tensor written by the blob's first producer.  Its
  gradient is what ``net.blobs[name].diff`` holds after ``net.backward``:
  backward through an in-place layer leaves the diff of that layer's input.

Layers run in prototxt order, as Caffe runs them; ``end=`` stops after the
named layer like ``net.forward(end=...)``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from port.caffe.errors import CaffeFormatError
from port.caffe.layers import CaffeLayer, Pooling, Shape, build_layer
from port.caffe.limits import BlobSizeError, check_blob_size
from port.caffe.reader import net_inputs
from port.imaging import CAFFE, InputConvention
from port.targets import LayerShape, Target

TEST_PHASE = 1


@dataclass(frozen=True)
class Step:
    """One layer in execution order."""

    name: str
    type: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    key: str


@dataclass
class ForwardTrace:
    """What one forward pass computed, keyed by Caffe blob / layer name."""

    blobs: dict[str, torch.Tensor] = field(default_factory=OrderedDict)
    produced: dict[str, torch.Tensor] = field(default_factory=OrderedDict)
    pool_argmax: dict[str, torch.Tensor] = field(default_factory=OrderedDict)


def _in_test_phase(lp: Any) -> bool:
    """Caffe's NetStateRule filter for phase TEST (stages and levels are not used by deploy nets)."""

    def matches(rule: Any) -> bool:
        return not rule.HasField("phase") or rule.phase == TEST_PHASE

    if lp.include:
        return any(matches(rule) for rule in lp.include)
    return not any(matches(rule) for rule in lp.exclude)


def _module_key(name: str, taken: set[str]) -> str:
    key = re.sub(r"[^0-9A-Za-z_]", "_", name) or "layer"
    while key in taken:
        key += "_"
    taken.add(key)
    return key


def caffe_shape_matches(stored: Sequence[int], expected: Sequence[int], legacy: bool) -> bool:
    """Caffe's ``Blob::ShapeEquals``: legacy 4-D dims match ``expected`` left-padded with 1s."""
    if not legacy:
        return tuple(stored) == tuple(expected)
    return len(expected) <= 4 and tuple(stored) == (1,) * (4 - len(expected)) + tuple(expected)


class CaffeNetwork(nn.Module):
    """A Caffe ``NetParameter`` (V2 form, as ``port.caffe.reader`` returns it) in PyTorch.

    Parameters are created with zeros; fill them with ``load_blobs``.
    """

    def __init__(self, net_param: Any, source: str = "<net>"):
        super().__init__()
        self.source = source
        self.net_name = net_param.name
        try:
            self.inputs: OrderedDict[str, Shape] = OrderedDict(net_inputs(net_param))
            for name, shape in self.inputs.items():
                check_blob_size(shape, f"input blob {name!r}")
        except CaffeFormatError as exc:
            raise CaffeFormatError(exc.reason, path=source, layer=exc.layer, field=exc.field) from None
        self.blob_shapes: OrderedDict[str, Shape] = OrderedDict(self.inputs)
        self.producer: dict[str, str] = {name: name for name in self.inputs}
        self.layers = nn.ModuleDict()
        self.steps: list[Step] = []
        self.weights_description = "zeros (no weights loaded)"
        self.convention: InputConvention = CAFFE
        self.ignored_weight_layers: list[str] = []
        taken: set[str] = set()
        for lp in net_param.layer:
            if lp.type == "Input" or not _in_test_phase(lp):
                continue
            self._add_layer(lp, _module_key(lp.name, taken))
        if not self.steps:
            raise CaffeFormatError(f"{source}: the net has no layers to run")

    def _add_layer(self, lp: Any, key: str) -> None:
        missing = [b for b in lp.bottom if b not in self.blob_shapes]
        if missing:
            raise CaffeFormatError(
                f"{self.source}: layer '{lp.name}' reads blob(s) {missing}, which no earlier layer produces"
            )
        try:
            module, top_shapes = build_layer(lp, [self.blob_shapes[b] for b in lp.bottom], self.source)
            for top, shape in zip(lp.top, top_shapes):
                check_blob_size(shape, f"top blob {top!r}")
        except BlobSizeError as exc:
            raise CaffeFormatError(exc.reason, path=self.source, layer=lp.name) from None
        for top, shape in zip(lp.top, top_shapes):
            if top not in self.blob_shapes:
                self.producer[top] = lp.name
            self.blob_shapes[top] = shape
        self.layers[key] = module
        self.steps.append(Step(lp.name, lp.type, tuple(lp.bottom), tuple(lp.top), key))

    # -- parameters -----------------------------------------------------

    def layer(self, name: str) -> CaffeLayer:
        """The module of the layer called ``name`` in the prototxt."""
        return self.layers[self.step(name).key]

    def step(self, name: str) -> Step:
        """The execution step of the layer called ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"{self.source}: no layer named '{name}'")

    def steps_writing(self, blob: str) -> list[Step]:
        """The layers that write ``blob``: its producer, then any in-place layers, in order."""
        return [step for step in self.steps if blob in step.tops]

    def caffe_params(self) -> OrderedDict[str, list[torch.Tensor]]:
        """Learnable blobs per layer, in network order (pycaffe's ``net.params``)."""
        params: OrderedDict[str, list[torch.Tensor]] = OrderedDict()
        for step in self.steps:
            blobs = self.layers[step.key].caffe_blobs()
            if blobs:
                params[step.name] = blobs
        return params

    def blob_arrays(self) -> dict[str, list[np.ndarray]]:
        """The learnable blobs as numpy arrays per layer, as ``read_weights`` returns a file's."""
        return {name: [b.detach().cpu().numpy() for b in blobs] for name, blobs in self.caffe_params().items()}

    def param_shapes(self) -> list[tuple[str, list[Shape]]]:
        """``[(layer, [blob shapes])]`` of the learnable layers, in network order."""
        return [(name, [tuple(b.shape) for b in blobs]) for name, blobs in self.caffe_params().items()]

    def load_blobs(self, weights: Mapping[str, Sequence[np.ndarray]], source: str = "<weights>") -> list[str]:
        """Copy Caffe blobs into the parameters, bit for bit, with Caffe's shape checks.

        ``weights`` maps layer name to blobs (as ``port.caffe.read_weights``
        returns them).  A stored 4-D blob is accepted for a lower-rank
        parameter when it is that shape left-padded with 1s, as Caffe accepts
        V1 (num, channels, height, width) blobs (Caffe reserves this for
        blobs without a ``BlobShape``; the reader does not keep that
        distinction, so this check is that much more permissive).  Every learnable layer must
        have weights; layers in ``weights`` that the net lacks are returned
        (Caffe ignores them too) and kept in ``ignored_weight_layers``;
        ``source`` becomes ``weights_description``.
        """
        for name, params in self.caffe_params().items():
            if name not in weights:
                raise CaffeFormatError(f"{source}: no weights for layer '{name}' of {self.source}")
            stored = weights[name]
            if len(stored) != len(params):
                raise CaffeFormatError(
                    f"{source}: layer '{name}' has {len(stored)} blobs, {self.source} expects {len(params)}"
                )
            for i, (array, param) in enumerate(zip(stored, params)):
                expected = tuple(param.shape)
                if not caffe_shape_matches(array.shape, expected, legacy=array.ndim == 4):
                    raise CaffeFormatError(
                        f"{source}: layer '{name}' blob {i} has shape {tuple(array.shape)}, "
                        f"but {self.source} expects {expected}"
                    )
                with torch.no_grad():
                    param.copy_(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).reshape(expected))
        self.weights_description = source
        self.ignored_weight_layers = [name for name in weights if name not in self.caffe_params()]
        return self.ignored_weight_layers

    # -- running --------------------------------------------------------

    def _as_inputs(self, inputs: torch.Tensor | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if isinstance(inputs, torch.Tensor):
            if len(self.inputs) != 1:
                raise ValueError(f"{self.source} has inputs {list(self.inputs)}; pass a dict")
            inputs = {next(iter(self.inputs)): inputs}
        missing = set(self.inputs) - set(inputs)
        if missing:
            raise ValueError(f"missing input blob(s) {sorted(missing)} for {self.source}")
        for name, tensor in inputs.items():
            if tuple(tensor.shape[1:]) != tuple(self.inputs[name][1:]):
                raise ValueError(
                    f"input '{name}' has shape {tuple(tensor.shape)}; {self.source} expects (N, "
                    f"{', '.join(map(str, self.inputs[name][1:]))})"
                )
        return dict(inputs)

    def run(
        self,
        inputs: torch.Tensor | Mapping[str, torch.Tensor],
        *,
        end: str | None = None,
        pool_argmax: Mapping[str, torch.Tensor] | None = None,
        relu_active: Mapping[str, torch.Tensor] | None = None,
    ) -> ForwardTrace:
        """Forward through the layers up to and including ``end`` (default: all).

        ``pool_argmax`` maps MAX pooling layer names to argmax tensors that
        replace those layers' own choices (see ``Pooling.pool``);
        ``relu_active`` maps ReLU layer names to boolean masks that replace
        their own ``x > 0`` (see ``ReLU.forced``).  Both let the port follow
        another implementation through near-ties, to attribute differences.
        """
        if end is not None:
            self.step(end)
        forced = pool_argmax or {}
        active = relu_active or {}
        trace = ForwardTrace()
        env = self._as_inputs(inputs)
        trace.produced.update(env)
        for step in self.steps:
            module = self.layers[step.key]
            bottoms = [env[b] for b in step.bottoms]
            if isinstance(module, Pooling):
                values, argmax = module.pool(bottoms[0], forced.get(step.name))
                if argmax is not None:
                    trace.pool_argmax[step.name] = argmax
                tops = module.tops(values, argmax)
            elif step.name in active:
                tops = [module.forced(bottoms[0], active[step.name])]
            else:
                tops = module(bottoms)
            for name, tensor in zip(step.tops, tops):
                env[name] = tensor
                trace.produced.setdefault(name, tensor)
            if step.name == end:
                break
        trace.blobs.update((name, env[name]) for name in self.blob_shapes if name in env)
        return trace

    # -- the model seam (port.mfv.model.VisModel) ---------------------

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the single image input."""
        if len(self.inputs) != 1:
            raise ValueError(f"{self.source}: needs one image input, it has {list(self.inputs)}")
        shape = next(iter(self.inputs.values()))
        if len(shape) != 4 or shape[1] != 3:
            raise ValueError(f"{self.source}: the input has shape {tuple(shape)}, not (N, 3, H, W)")
        return int(shape[2]), int(shape[3])

    @property
    def device(self) -> torch.device:
        return next((p.device for p in self.parameters()), torch.device("cpu"))

    def layer_shapes(self) -> list[LayerShape]:
        """Every layer by name with the shape of its first top (as Caffe wrote it, before in-place layers)."""
        return [LayerShape(step.name, tuple(self.blob_shapes[step.tops[0]])) for step in self.steps]

    @property
    def prob_layer(self) -> str | None:
        """The last layer when it is a Softmax (CaffeNet's ``prob``), else None."""
        last = self.steps[-1]
        return last.name if last.type == "Softmax" else None

    @property
    def penultimate(self) -> str:
        """The blob the class layer reads (CaffeNet's ``fc7``)."""
        return self.step(self.class_layer).bottoms[0]

    @property
    def class_layer(self) -> str:
        """The layer whose top the final Softmax reads (CaffeNet's ``fc8``); the last layer without one."""
        if self.prob_layer is None:
            return self.steps[-1].name
        return self.producer[self.steps[-1].bottoms[0]]

    def code_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every blob by name with its shape: what :meth:`codes` can read."""
        return {name: tuple(shape) for name, shape in self.blob_shapes.items()}

    def codes(self, x: torch.Tensor, blob: str) -> torch.Tensor:
        """``blob`` flattened per image (N, D), as pycaffe's ``net.blobs[blob].data`` holds it after a forward
        pass: after every layer that writes it, in-place ones included; the pass stops at the last of them."""
        writers = self.steps_writing(blob)
        with torch.inference_mode():
            values = self.run(x, end=writers[-1].name).blobs[blob] if writers else x
        return values.reshape(len(x), -1)

    def scores_and_gradient(self, crops: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
        """The target layer's top (N, C) - at (y, x) for conv tops - and d top[n, unit] / d crop[n]."""
        leaf = crops.detach().requires_grad_(True)
        with torch.enable_grad():
            top = self.run(leaf, end=target.layer).blobs[self.step(target.layer).tops[0]]
            scores = top if top.dim() == 2 else top[:, :, target.y, target.x]
            (grad,) = torch.autograd.grad(scores[:, target.unit].sum(), leaf)
        return scores.detach(), grad

    def forward_blobs(self, inputs: torch.Tensor | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every blob after a full forward pass, by Caffe name (pycaffe's ``net.blobs[name].data``)."""
        return self.run(inputs).blobs

    def forward(self, inputs: torch.Tensor | Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The last layer's first top blob."""
        return self.run(inputs).blobs[self.steps[-1].tops[0]]
