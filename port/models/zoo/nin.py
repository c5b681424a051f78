"""Network in Network (Lin, Chen & Yan 2014), the ImageNet model of the Caffe model zoo.

Each stage is a convolution followed by two 1x1 "cccp" convolutions; the
last stage ends in 1000 channels and a 6x6 average pool, no fully connected
layer.  Its max pools round up (54 -> 27, 27 -> 13, 13 -> 6).
"""

from __future__ import annotations

from port.models.zoo import text as t

# (conv name, width, kernel, stride, pad), then its two cccp layers' names and widths.
STAGES = (
    (("conv1", 96, 11, 4, 0), (("cccp1", 96), ("cccp2", 96))),
    (("conv2", 256, 5, 1, 2), (("cccp3", 256), ("cccp4", 256))),
    (("conv3", 384, 3, 1, 1), (("cccp5", 384), ("cccp6", 384))),
    (("conv4-1024", 1024, 3, 1, 1), (("cccp7-1024", 1024), ("cccp8-1024", 1000))),
)
POOLS = ("pool0", "pool2", "pool3")


def nin_prototxt() -> str:
    """Deploy net, input 1 x 3 x 224 x 224; top ``pool4`` (1 x 1000 x 1 x 1)."""
    layers, blob, relu = [], "data", 0
    for index, ((name, width, kernel, stride, pad), cccps) in enumerate(STAGES):
        layers += [t.conv(name, blob, width, kernel, stride=stride, pad=pad), t.relu(f"relu{relu}", name)]
        blob, relu = name, relu + 1
        for cccp, cccp_width in cccps:
            layers += [t.conv(cccp, blob, cccp_width, 1), t.relu(f"relu{relu}", cccp)]
            blob, relu = cccp, relu + 1
        if index < len(POOLS):
            layers.append(t.max_pool(POOLS[index], blob, 3, 2))
            blob = POOLS[index]
        if index == 2:
            layers.append(t.dropout("drop", blob, 0.5))
    layers.append(t.ave_pool("pool4", blob, 6, 1))
    return t.net("NIN", (1, 3, 224, 224), layers)
