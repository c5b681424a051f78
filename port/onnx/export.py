"""A ``CaffeNetwork`` as an ONNX graph, layer by layer, with Caffe's semantics kept explicit.

The graph has the net's fixed input shapes; each Caffe blob's final value
(after any in-place layers) is a graph value named as the blob, so graph
outputs carry Caffe's blob names.  Where ONNX's operators differ from Caffe
the export spells Caffe out:

* Pooling: Caffe's output size (rounding up, the last window clipped,
  ``port.ops.pooling``) by an explicit ``Pad`` (``-inf`` for MAX, 0 for AVE)
  to the exact extent the windows cover, then an unpadded pool; AVE then
  multiplies by ``k_h k_w / divisor`` where Caffe's divisor (the window
  clipped to the padded extent) is smaller than the kernel area.
* LRN: ACROSS_CHANNELS is ONNX ``LRN`` (the same formula, ``bias = k``);
  WITHIN_CHANNEL is ``x * (1 + alpha * avgpool_n(x^2))^(-beta)``.
* BatchNorm: ``BatchNormalization`` with the stored sums times ``1/f``.
* InnerProduct on any axis: reshape to ``(*shape[:axis], fan_in)``, then
  ``MatMul`` and ``Add``.
* Slice, Crop, Flatten, Reshape: ``Split``, ``Slice`` and ``Reshape`` with
  the static shapes the port computed.

Opset 13 or later (``Split`` with sizes as an input, ``Softmax`` on one axis).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from port.atomic import atomic_write_bytes
from port.caffe.errors import CaffeFormatError
from port.caffe.layers import (
    LRN,
    POOL_MAX,
    BatchNorm,
    Bias,
    CaffeLayer,
    Concat,
    Convolution,
    Crop,
    Deconvolution,
    Eltwise,
    Flatten,
    InnerProduct,
    Pooling,
    PReLU,
    ReLU,
    Reshape,
    Scale,
    Slice,
    Softmax,
    Split,
)
from port.caffe.layers.neuron import Neuron
from port.caffe.layers.pooling import LRN_ACROSS_CHANNELS
from port.caffe.layers.structure import ELTWISE_MAX, ELTWISE_PROD
from port.caffe.network import CaffeNetwork, Step
from port.ops.pooling import pooled_shape

MIN_OPSET = 13
DEFAULT_OPSET = 17
PRODUCER = "mfv-port"


@dataclass(frozen=True)
class OnnxExport:
    """The model and what it holds: its opset and the Caffe blobs that are graph outputs."""

    model: onnx.ModelProto
    opset: int
    outputs: tuple[str, ...]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


class _Graph:
    """Nodes and initializers under construction; fresh value names per layer."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.used: Counter[str] = Counter()

    def fresh(self, base: str) -> str:
        self.used[base] += 1
        return base if self.used[base] == 1 else f"{base}:{self.used[base] - 1}"

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, base: str, values: list[int]) -> str:
        return self.const(base, np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs: list[str], base: str, n_out: int = 1, **attrs: object) -> list[str]:
        outs = [self.fresh(base if n_out == 1 else f"{base}/{i}") for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(f"{base}/{op}"), **attrs))
        return outs

    def one(self, op: str, inputs: list[str], base: str, **attrs: object) -> str:
        return self.node(op, inputs, base, **attrs)[0]


def _trailing(array: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    return array.reshape(*array.shape, *([1] * (ndim - axis - array.ndim)))


class _LayerExporter:
    """Emits the nodes of one layer; ``values`` maps a Caffe blob to its current ONNX value."""

    def __init__(self, net: CaffeNetwork, graph: _Graph):
        self.net, self.g = net, graph

    def emit(self, step: Step, module: CaffeLayer, bottoms: list[str]) -> list[str]:
        base = f"{step.name}"
        shapes = [self.net.blob_shapes[b] for b in step.bottoms]
        for kind, method in self.DISPATCH:
            if isinstance(module, kind):
                return method(self, step, module, bottoms, shapes, base)
        raise CaffeFormatError(f"{self.net.source}: layer '{step.name}' ({step.type}) has no ONNX export")

    def convolution(self, step, m: Convolution, x, shapes, base):
        g = m.geom
        inputs = [x[0], self.g.const(f"{base}/weight", _np(m.weight))]
        if "bias" in m.blob_names:
            inputs.append(self.g.const(f"{base}/bias", _np(m.bias)))
        op = "ConvTranspose" if isinstance(m, Deconvolution) else "Conv"
        pads = [g.pad[0], g.pad[1], g.pad[0], g.pad[1]]
        return [
            self.g.one(
                op, inputs, base, kernel_shape=list(g.kernel), strides=list(g.stride), pads=pads,
                dilations=list(g.dilation), group=g.group,
            )
        ]  # fmt: skip

    def inner_product(self, step, m: InnerProduct, x, shapes, base):
        shape = shapes[0]
        flat = self.g.one("Reshape", [x[0], self.g.ints(f"{base}/shape", [*shape[: m.axis], -1])], f"{base}/flat")
        weight = _np(m.weight) if m.transpose else _np(m.weight).T
        y = self.g.one("MatMul", [flat, self.g.const(f"{base}/weight", np.ascontiguousarray(weight))], f"{base}/mm")
        if "bias" in m.blob_names:
            y = self.g.one("Add", [y, self.g.const(f"{base}/bias", _np(m.bias))], base)
        return [y]

    def pooling(self, step, m: Pooling, x, shapes, base):
        if m.mask_top:
            raise CaffeFormatError(f"{self.net.source}: layer '{step.name}': a mask top has no ONNX export")
        geom = m.geom
        _, c, h, w = shapes[0]
        out_h, out_w = pooled_shape(h, w, geom)
        extra = [
            max((out - 1) * s + k - (size + 2 * p), 0)
            for out, s, k, size, p in zip((out_h, out_w), geom.stride, geom.kernel, (h, w), geom.pad)
        ]
        pads = [0, 0, geom.pad[0], geom.pad[1], 0, 0, geom.pad[0] + extra[0], geom.pad[1] + extra[1]]
        fill = -np.inf if m.method == POOL_MAX else 0.0
        padded = x[0]
        if any(pads):
            fill_value = self.g.const(f"{base}/fill", np.asarray(fill, dtype=np.float32))
            padded = self.g.one("Pad", [x[0], self.g.ints(f"{base}/pads", pads), fill_value], f"{base}/padded")
        attrs = {"kernel_shape": list(geom.kernel), "strides": list(geom.stride)}
        if m.method == POOL_MAX:
            return [self.g.one("MaxPool", [padded], base, **attrs)]
        area = geom.kernel[0] * geom.kernel[1]
        ratio = area / _caffe_divisor(h, w, out_h, out_w, geom)
        if np.all(ratio == 1.0):
            return [self.g.one("AveragePool", [padded], base, **attrs)]
        mean = self.g.one("AveragePool", [padded], f"{base}/mean", **attrs)
        return [self.g.one("Mul", [mean, self.g.const(f"{base}/ratio", ratio.astype(np.float32))], base)]

    def lrn(self, step, m: LRN, x, shapes, base):
        if m.region == LRN_ACROSS_CHANNELS:
            return [self.g.one("LRN", x, base, size=m.size, alpha=m.alpha, beta=m.beta, bias=m.k)]
        half = (m.size - 1) // 2
        square = self.g.one("Mul", [x[0], x[0]], f"{base}/square")
        mean = self.g.one(
            "AveragePool", [square], f"{base}/mean", kernel_shape=[m.size, m.size], pads=[half] * 4,
            count_include_pad=1,
        )  # fmt: skip
        scaled = self.g.one("Mul", [mean, self.g.const(f"{base}/alpha", np.float32(m.alpha))], f"{base}/scaled")
        one = self.g.const(f"{base}/one", np.float32(1.0))
        norm = self.g.one("Add", [scaled, one], f"{base}/norm")
        power = self.g.one("Pow", [norm, self.g.const(f"{base}/beta", np.float32(-m.beta))], f"{base}/power")
        return [self.g.one("Mul", [x[0], power], base)]

    def relu(self, step, m: ReLU, x, shapes, base):
        if m.negative_slope == 0:
            return [self.g.one("Relu", x, base)]
        return [self.g.one("LeakyRelu", x, base, alpha=m.negative_slope)]

    def prelu(self, step, m: PReLU, x, shapes, base):
        ndim = len(shapes[0])
        slope = _np(m.weight).reshape(()) if m.shared else _trailing(_np(m.weight), 1, ndim)
        return [self.g.one("PRelu", [x[0], self.g.const(f"{base}/slope", slope)], base)]

    def neuron(self, step, m: Neuron, x, shapes, base):
        return [_NEURONS[m.kind](self.g, x[0], base, **m.params)]

    def batch_norm(self, step, m: BatchNorm, x, shapes, base):
        f = _np(m.scale_factor).reshape(())
        s = np.float32(0.0) if f == 0 else np.float32(1.0) / f
        c = shapes[0][1]
        inputs = [
            x[0],
            self.g.const(f"{base}/gamma", np.ones(c, np.float32)),
            self.g.const(f"{base}/beta", np.zeros(c, np.float32)),
            self.g.const(f"{base}/mean", _np(m.mean) * s),
            self.g.const(f"{base}/variance", _np(m.variance) * s),
        ]
        return [self.g.one("BatchNormalization", inputs, base, epsilon=m.eps)]

    def scale(self, step, m: Scale, x, shapes, base):
        ndim = len(shapes[0])
        if "weight" in m.blob_names:
            factor = self.g.const(f"{base}/scale", _trailing(_np(m.weight), m.axis, ndim))
        else:
            operand = shapes[1]
            target = [*operand, *([1] * (ndim - m.axis - len(operand)))]
            factor = self.g.one("Reshape", [x[1], self.g.ints(f"{base}/shape", target)], f"{base}/operand")
        y = self.g.one("Mul", [x[0], factor], f"{base}/scaled" if "bias" in m.blob_names else base)
        if "bias" in m.blob_names:
            y = self.g.one("Add", [y, self.g.const(f"{base}/bias", _trailing(_np(m.bias), m.axis, ndim))], base)
        return [y]

    def bias(self, step, m: Bias, x, shapes, base):
        ndim = len(shapes[0])
        if m.blob_names:
            operand = self.g.const(f"{base}/bias", _trailing(_np(m.bias), m.axis, ndim))
        else:
            target = [*shapes[1], *([1] * (ndim - m.axis - len(shapes[1])))]
            operand = self.g.one("Reshape", [x[1], self.g.ints(f"{base}/shape", target)], f"{base}/operand")
        return [self.g.one("Add", [x[0], operand], base)]

    def eltwise(self, step, m: Eltwise, x, shapes, base):
        if m.operation == ELTWISE_PROD:
            return [self.g.one("Mul", x, base)] if len(x) == 2 else [self._fold("Mul", x, base)]
        if m.operation == ELTWISE_MAX:
            return [self.g.one("Max", x, base)]
        terms = [
            t if c == 1.0 else self.g.one("Mul", [t, self.g.const(f"{base}/coeff", np.float32(c))], f"{base}/term")
            for t, c in zip(x, m.coeffs)
        ]
        return [self._fold("Add", terms, base)]

    def _fold(self, op: str, terms: list[str], base: str) -> str:
        """Caffe's left-to-right order: ``((t0 op t1) op t2) ...``."""
        acc = terms[0]
        for i, term in enumerate(terms[1:], start=2):
            acc = self.g.one(op, [acc, term], base if i == len(terms) else f"{base}/partial")
        return acc

    def concat(self, step, m: Concat, x, shapes, base):
        return [self.g.one("Concat", x, base, axis=m.axis)]

    def slice(self, step, m: Slice, x, shapes, base):
        return self.g.node("Split", [x[0], self.g.ints(f"{base}/sizes", m.sizes)], base, len(m.sizes), axis=m.axis)

    def reshape(self, step, m: Flatten | Reshape, x, shapes, base):
        top = list(self.net.blob_shapes[step.tops[0]])
        return [self.g.one("Reshape", [x[0], self.g.ints(f"{base}/shape", top)], base)]

    def crop(self, step, m: Crop, x, shapes, base):
        axes = list(range(m.axis, m.axis + len(m.size)))
        ends = [o + s for o, s in zip(m.offsets, m.size)]
        inputs = [x[0], self.g.ints(f"{base}/starts", list(m.offsets)), self.g.ints(f"{base}/ends", ends)]
        return [self.g.one("Slice", [*inputs, self.g.ints(f"{base}/axes", axes)], base)]

    def softmax(self, step, m: Softmax, x, shapes, base):
        return [self.g.one("Softmax", x, base, axis=m.axis)]

    def split(self, step, m: Split, x, shapes, base):
        return [self.g.one("Identity", x, f"{base}/{i}") for i in range(m.n_tops)]

    DISPATCH = (
        (Convolution, convolution),
        (Deconvolution, convolution),
        (InnerProduct, inner_product),
        (Pooling, pooling),
        (LRN, lrn),
        (ReLU, relu),
        (PReLU, prelu),
        (Neuron, neuron),
        (BatchNorm, batch_norm),
        (Scale, scale),
        (Bias, bias),
        (Eltwise, eltwise),
        (Concat, concat),
        (Slice, slice),
        ((Flatten, Reshape), reshape),
        (Crop, crop),
        (Softmax, softmax),
        (Split, split),
    )


def _caffe_divisor(h: int, w: int, out_h: int, out_w: int, geom) -> np.ndarray:
    """Caffe's AVE divisor per output position: the window clipped to the padded extent."""

    def extent(size: int, out: int, k: int, s: int, p: int) -> np.ndarray:
        start = np.arange(out) * s - p
        return np.minimum(start + k, size + p) - start

    rows = extent(h, out_h, geom.kernel[0], geom.stride[0], geom.pad[0])
    cols = extent(w, out_w, geom.kernel[1], geom.stride[1], geom.pad[1])
    return (rows[:, None] * cols[None, :]).astype(np.float64)


def _scalar(g: _Graph, name: str, value: float) -> str:
    return g.const(name, np.float32(value))


def _affine(g: _Graph, x: str, name: str, scale: float, shift: float) -> str:
    y = x if scale == 1 else g.one("Mul", [x, _scalar(g, f"{name}/scale", scale)], f"{name}/scaled")
    return y if shift == 0 else g.one("Add", [y, _scalar(g, f"{name}/shift", shift)], f"{name}/shifted")


def _bnll(g: _Graph, x: str, name: str) -> str:
    """``max(x, 0) + log(1 + exp(-|x|))`` (``port.ops.neuron.bnll``)."""
    negative = g.one("Neg", [g.one("Abs", [x], f"{name}/abs")], f"{name}/neg")
    exp = g.one("Exp", [negative], f"{name}/exp")
    log = g.one("Log", [g.one("Add", [exp, _scalar(g, f"{name}/one", 1.0)], f"{name}/sum")], f"{name}/log")
    return g.one("Add", [g.one("Relu", [x], f"{name}/relu"), log], name)


def _exp(g: _Graph, x: str, name: str, base: float, scale: float, shift: float) -> str:
    """``outer * exp(inner * x)`` (``port.ops.neuron.exp_layer``)."""
    log_base = 1.0 if base == -1 else float(np.log(base))
    outer = 1.0 if shift == 0 else (float(np.exp(shift)) if base == -1 else base**shift)
    y = g.one("Exp", [_affine(g, x, name, log_base * scale, 0.0)], name if outer == 1 else f"{name}/exp")
    return y if outer == 1 else g.one("Mul", [y, _scalar(g, f"{name}/outer", outer)], name)


def _log(g: _Graph, x: str, name: str, base: float, scale: float, shift: float) -> str:
    """``ln(shift + scale x) / ln(base)`` (``port.ops.neuron.log_layer``)."""
    y = g.one("Log", [_affine(g, x, name, scale, shift)], name if base == -1 else f"{name}/ln")
    return y if base == -1 else g.one("Mul", [y, _scalar(g, f"{name}/inv_ln_base", 1.0 / np.log(base))], name)


def _power(g: _Graph, x: str, name: str, power: float, scale: float, shift: float) -> str:
    """``(shift + scale x)^power`` (``port.ops.neuron.power_layer``)."""
    inner = _affine(g, x, name, scale, shift)
    if power == 1:
        return g.one("Identity", [inner], name)
    return g.one("Pow", [inner, _scalar(g, f"{name}/power", power)], name)


def _unary(op: str):
    def emit(g: _Graph, x: str, name: str, **attrs: float) -> str:
        return g.one(op, [x], name, **attrs)

    return emit


_NEURONS = {
    "Sigmoid": _unary("Sigmoid"),
    "TanH": _unary("Tanh"),
    "AbsVal": _unary("Abs"),
    "BNLL": _bnll,
    "ELU": _unary("Elu"),
    "Exp": _exp,
    "Log": _log,
    "Power": _power,
}


def export_onnx(net: CaffeNetwork, *, opset: int = DEFAULT_OPSET, all_blobs: bool = False) -> OnnxExport:
    """The ONNX model of ``net`` (its current weights as initializers), checked by ``onnx.checker``.

    Graph outputs are the blobs no layer reads (the net's results) or, with
    ``all_blobs``, every blob but the inputs, each named as in Caffe and
    holding the blob's final value (pycaffe's ``net.blobs[name].data``).
    """
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset {opset} is outside the supported range {MIN_OPSET}..{newest}")
    read = {b for step in net.steps for b in step.bottoms}
    blobs = [b for b in net.blob_shapes if b not in net.inputs]
    outputs = tuple(blobs if all_blobs else [b for b in blobs if b not in read])
    g = _Graph()
    g.used.update([*net.inputs, *outputs])
    values = {name: name for name in net.inputs}
    exporter = _LayerExporter(net, g)
    for step in net.steps:
        tops = exporter.emit(step, net.layers[step.key], [values[b] for b in step.bottoms])
        values.update(zip(step.tops, tops))
    for blob in outputs:
        g.nodes.append(helper.make_node("Identity", [values[blob]], [blob], name=g.fresh(f"{blob}/output")))
    graph = helper.make_graph(
        g.nodes,
        net.net_name or "net",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in net.inputs.items()],
        [helper.make_tensor_value_info(b, TensorProto.FLOAT, list(net.blob_shapes[b])) for b in outputs],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name=PRODUCER)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model, full_check=True)
    return OnnxExport(model, opset, outputs)


def save_onnx(export: OnnxExport, path: str | Path) -> None:
    """Write the model to ``path`` atomically."""
    atomic_write_bytes(path, export.model.SerializeToString())
