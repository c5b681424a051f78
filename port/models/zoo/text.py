"""Prototxt text for one layer at a time: the vocabulary the architecture generators write nets in.

Each function returns one ``layer { ... }`` line of Caffe's text format
(``caffe.LayerParameter``); :func:`net` joins them under a name and an
``Input`` layer.  Only the fields a deploy net sets are written; the rest
keep Caffe's defaults.
"""

from __future__ import annotations

from collections.abc import Sequence


def _layer(name: str, kind: str, bottoms: Sequence[str], tops: Sequence[str], params: str = "") -> str:
    links = " ".join([*(f'bottom: "{b}"' for b in bottoms), *(f'top: "{t}"' for t in tops)])
    return f'layer {{ name: "{name}" type: "{kind}" {links}{" " + params if params else ""} }}'


def net(name: str, shape: Sequence[int], layers: Sequence[str]) -> str:
    """A deploy ``NetParameter``: one ``Input`` layer ``data`` of ``shape``, then ``layers``."""
    dims = " ".join(f"dim: {d}" for d in shape)
    head = _layer("data", "Input", [], ["data"], f"input_param {{ shape {{ {dims} }} }}")
    return "\n".join([f'name: "{name}"', head, *layers]) + "\n"


def conv(
    name: str,
    bottom: str,
    num_output: int,
    kernel: int,
    *,
    stride: int = 1,
    pad: int = 0,
    group: int = 1,
    bias: bool = True,
    top: str | None = None,
) -> str:
    fields = [f"num_output: {num_output}", f"kernel_size: {kernel}"]
    fields += [
        f"{k}: {v}" for k, v, default in (("stride", stride, 1), ("pad", pad, 0), ("group", group, 1)) if v != default
    ]
    if not bias:
        fields.append("bias_term: false")
    return _layer(name, "Convolution", [bottom], [top or name], f"convolution_param {{ {' '.join(fields)} }}")


def relu(name: str, blob: str) -> str:
    """An in-place ReLU on ``blob``."""
    return _layer(name, "ReLU", [blob], [blob])


def max_pool(name: str, bottom: str, kernel: int, stride: int, *, pad: int = 0) -> str:
    padding = f" pad: {pad}" if pad else ""
    return _layer(
        name,
        "Pooling",
        [bottom],
        [name],
        f"pooling_param {{ pool: MAX kernel_size: {kernel} stride: {stride}{padding} }}",
    )


def ave_pool(name: str, bottom: str, kernel: int, stride: int) -> str:
    return _layer(
        name, "Pooling", [bottom], [name], f"pooling_param {{ pool: AVE kernel_size: {kernel} stride: {stride} }}"
    )


def global_ave_pool(name: str, bottom: str) -> str:
    return _layer(name, "Pooling", [bottom], [name], "pooling_param { pool: AVE global_pooling: true }")


def lrn(name: str, bottom: str) -> str:
    """The ACROSS_CHANNELS LRN of AlexNet and GoogLeNet: 5 channels, alpha 1e-4, beta 0.75."""
    return _layer(name, "LRN", [bottom], [name], "lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }")


def inner_product(name: str, bottom: str, num_output: int) -> str:
    return _layer(name, "InnerProduct", [bottom], [name], f"inner_product_param {{ num_output: {num_output} }}")


def dropout(name: str, blob: str, ratio: float) -> str:
    """An in-place Dropout (the identity at test time)."""
    return _layer(name, "Dropout", [blob], [blob], f"dropout_param {{ dropout_ratio: {ratio} }}")


def softmax(name: str, bottom: str) -> str:
    return _layer(name, "Softmax", [bottom], [name])


def concat(name: str, bottoms: Sequence[str]) -> str:
    return _layer(name, "Concat", bottoms, [name])


def batch_norm(name: str, blob: str) -> str:
    """An in-place BatchNorm with the stored statistics."""
    return _layer(name, "BatchNorm", [blob], [blob], "batch_norm_param { use_global_stats: true }")


def scale(name: str, blob: str) -> str:
    """An in-place learned per-channel Scale with a bias."""
    return _layer(name, "Scale", [blob], [blob], "scale_param { bias_term: true }")


def eltwise_sum(name: str, bottoms: Sequence[str]) -> str:
    return _layer(name, "Eltwise", bottoms, [name], "eltwise_param { operation: SUM }")


def classifier_head(bottom: str, fc: Sequence[tuple[str, int]], dropout_ratio: float = 0.5) -> list[str]:
    """``fc`` InnerProduct layers (ReLU and Dropout after all but the last), then ``prob``."""
    layers, blob = [], bottom
    for i, (name, width) in enumerate(fc):
        layers.append(inner_product(name, blob, width))
        if i < len(fc) - 1:
            index = name.removeprefix("fc")
            layers += [relu(f"relu{index}", name), dropout(f"drop{index}", name, dropout_ratio)]
        blob = name
    return [*layers, softmax("prob", blob)]
