"""ResNet-50, -101 and -152 (He et al. 2016) as their authors published them for Caffe.

Bottleneck blocks (1x1, 3x3, 1x1 with 4x the width) in four stages; every
convolution but conv1 has no bias and is followed by a BatchNorm with stored statistics
and a learned Scale with bias.  The first block of each stage projects its
shortcut with a 1x1 convolution (``branch1``); stages 3-5 stride by 2 in
that projection and in the block's first 1x1 convolution.  Blocks are named
``a, b, c, ...`` in ResNet-50 and ``a, b1, b2, ...`` in stages with more
than three blocks of ResNet-101/152 (``res4b22``), as in the published
files.  pool1 rounds up (112 -> 56).
"""

from __future__ import annotations

from collections.abc import Sequence

from port.models.zoo import text as t

DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
WIDTHS = (64, 128, 256, 512)


def _block_names(depth: int, count: int) -> list[str]:
    if depth == 50 or count <= 3:
        return [chr(ord("a") + i) for i in range(count)]
    return ["a", *(f"b{i}" for i in range(1, count))]


def _conv_bn(
    conv: str, suffix: str, bottom: str, width: int, kernel: int, stride: int, relu: bool, bias: bool = False
) -> list[str]:
    """Convolution ``conv``, then ``bn<suffix>``, ``scale<suffix>`` and optionally ``<conv>_relu``, in place."""
    layers = [
        t.conv(conv, bottom, width, kernel, stride=stride, pad=kernel // 2, bias=bias),
        t.batch_norm(f"bn{suffix}", conv),
        t.scale(f"scale{suffix}", conv),
    ]
    return [*layers, t.relu(f"{conv}_relu", conv)] if relu else layers


def _bottleneck(stage: int, block: str, bottom: str, width: int, first: bool) -> tuple[list[str], str]:
    tag = f"{stage}{block}"
    stride = 2 if first and stage > 2 else 1
    layers: list[str] = []
    shortcut = bottom
    if first:
        layers += _conv_bn(f"res{tag}_branch1", f"{tag}_branch1", bottom, 4 * width, 1, stride, relu=False)
        shortcut = f"res{tag}_branch1"
    layers += _conv_bn(f"res{tag}_branch2a", f"{tag}_branch2a", bottom, width, 1, stride, relu=True)
    layers += _conv_bn(f"res{tag}_branch2b", f"{tag}_branch2b", f"res{tag}_branch2a", width, 3, 1, relu=True)
    layers += _conv_bn(f"res{tag}_branch2c", f"{tag}_branch2c", f"res{tag}_branch2b", 4 * width, 1, 1, relu=False)
    layers += [t.eltwise_sum(f"res{tag}", [shortcut, f"res{tag}_branch2c"]), t.relu(f"res{tag}_relu", f"res{tag}")]
    return layers, f"res{tag}"


def resnet_prototxt(depth: int) -> str:
    """Deploy net ResNet-``depth`` (50, 101 or 152), input 1 x 3 x 224 x 224; top ``prob``."""
    if depth not in DEPTHS:
        raise ValueError(f"ResNet depth {depth}: one of {sorted(DEPTHS)}")
    layers = [*_conv_bn("conv1", "_conv1", "data", 64, 7, 2, relu=True, bias=True), t.max_pool("pool1", "conv1", 3, 2)]
    blob = "pool1"
    counts: Sequence[int] = DEPTHS[depth]
    for stage, (count, width) in enumerate(zip(counts, WIDTHS), start=2):
        for i, block in enumerate(_block_names(depth, count)):
            block_layers, blob = _bottleneck(stage, block, blob, width, first=i == 0)
            layers += block_layers
    layers += [t.ave_pool("pool5", blob, 7, 1), t.inner_product("fc1000", "pool5", 1000), t.softmax("prob", "fc1000")]
    return t.net(f"ResNet-{depth}", (1, 3, 224, 224), layers)
