"""VGG-16 and VGG-19 (Simonyan & Zisserman, ILSVRC-2014 deploy nets): 3x3 convolutions, 2x2 max pooling."""

from __future__ import annotations

from collections.abc import Sequence

from port.models.zoo import text as t

VGG16_BLOCKS = (2, 2, 3, 3, 3)
VGG19_BLOCKS = (2, 2, 4, 4, 4)
WIDTHS = (64, 128, 256, 512, 512)


def vgg_prototxt(name: str, blocks: Sequence[int]) -> str:
    """Deploy net, input 1 x 3 x 224 x 224; ``blocks[i]`` convolutions (``conv<i+1>_<j>``) before ``pool<i+1>``."""
    layers, blob = [], "data"
    for stage, (count, width) in enumerate(zip(blocks, WIDTHS), start=1):
        for j in range(1, count + 1):
            conv = f"conv{stage}_{j}"
            layers += [t.conv(conv, blob, width, 3, pad=1), t.relu(f"relu{stage}_{j}", conv)]
            blob = conv
        layers.append(t.max_pool(f"pool{stage}", blob, 2, 2))
        blob = f"pool{stage}"
    layers += t.classifier_head(blob, [("fc6", 4096), ("fc7", 4096), ("fc8", 1000)])
    return t.net(name, (1, 3, 224, 224), layers)
