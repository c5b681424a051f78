"""GoogLeNet as BVLC published it for Caffe (``bvlc_googlenet``, Szegedy et al. 2014), deploy form.

Nine inception modules; every max pool with stride 2 rounds up
(112 -> 56 -> 28 -> 14 -> 7, each from an odd window count).  The deploy net
keeps only the main classifier (``loss3/classifier``).
"""

from __future__ import annotations

from port.models.zoo import text as t

# module -> (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection)
INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
POOL_AFTER = {"3b": "pool3/3x3_s2", "4e": "pool4/3x3_s2"}


def _inception(module: str, bottom: str) -> tuple[list[str], str]:
    n1, r3, n3, r5, n5, proj = INCEPTIONS[module]
    p = f"inception_{module}"

    def conv_relu(name: str, src: str, width: int, kernel: int, pad: int = 0) -> list[str]:
        return [t.conv(f"{p}/{name}", src, width, kernel, pad=pad), t.relu(f"{p}/relu_{name}", f"{p}/{name}")]

    layers = [
        *conv_relu("1x1", bottom, n1, 1),
        *conv_relu("3x3_reduce", bottom, r3, 1),
        *conv_relu("3x3", f"{p}/3x3_reduce", n3, 3, 1),
        *conv_relu("5x5_reduce", bottom, r5, 1),
        *conv_relu("5x5", f"{p}/5x5_reduce", n5, 5, 2),
        t.max_pool(f"{p}/pool", bottom, 3, 1, pad=1),
        *conv_relu("pool_proj", f"{p}/pool", proj, 1),
        t.concat(f"{p}/output", [f"{p}/1x1", f"{p}/3x3", f"{p}/5x5", f"{p}/pool_proj"]),
    ]
    return layers, f"{p}/output"


def googlenet_prototxt() -> str:
    """Deploy net, input 1 x 3 x 224 x 224; top ``prob``."""
    layers = [
        t.conv("conv1/7x7_s2", "data", 64, 7, stride=2, pad=3),
        t.relu("conv1/relu_7x7", "conv1/7x7_s2"),
        t.max_pool("pool1/3x3_s2", "conv1/7x7_s2", 3, 2),
        t.lrn("pool1/norm1", "pool1/3x3_s2"),
        t.conv("conv2/3x3_reduce", "pool1/norm1", 64, 1),
        t.relu("conv2/relu_3x3_reduce", "conv2/3x3_reduce"),
        t.conv("conv2/3x3", "conv2/3x3_reduce", 192, 3, pad=1),
        t.relu("conv2/relu_3x3", "conv2/3x3"),
        t.lrn("conv2/norm2", "conv2/3x3"),
        t.max_pool("pool2/3x3_s2", "conv2/norm2", 3, 2),
    ]
    blob = "pool2/3x3_s2"
    for module in INCEPTIONS:
        block, blob = _inception(module, blob)
        layers += block
        if module in POOL_AFTER:
            layers.append(t.max_pool(POOL_AFTER[module], blob, 3, 2))
            blob = POOL_AFTER[module]
    layers += [
        t.ave_pool("pool5/7x7_s1", blob, 7, 1),
        t.dropout("pool5/drop_7x7_s1", "pool5/7x7_s1", 0.4),
        t.inner_product("loss3/classifier", "pool5/7x7_s1", 1000),
        t.softmax("prob", "loss3/classifier"),
    ]
    return t.net("GoogleNet", (1, 3, 224, 224), layers)
