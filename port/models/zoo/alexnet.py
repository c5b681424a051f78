"""AlexNet as BVLC published it for Caffe (``bvlc_alexnet``): LRN before pooling, unlike CaffeNet."""

from __future__ import annotations

from port.models.zoo import text as t


def alexnet_prototxt() -> str:
    """Deploy net, input 1 x 3 x 227 x 227; conv2, conv4 and conv5 in two groups."""
    layers = [
        t.conv("conv1", "data", 96, 11, stride=4),
        t.relu("relu1", "conv1"),
        t.lrn("norm1", "conv1"),
        t.max_pool("pool1", "norm1", 3, 2),
        t.conv("conv2", "pool1", 256, 5, pad=2, group=2),
        t.relu("relu2", "conv2"),
        t.lrn("norm2", "conv2"),
        t.max_pool("pool2", "norm2", 3, 2),
        t.conv("conv3", "pool2", 384, 3, pad=1),
        t.relu("relu3", "conv3"),
        t.conv("conv4", "conv3", 384, 3, pad=1, group=2),
        t.relu("relu4", "conv4"),
        t.conv("conv5", "conv4", 256, 3, pad=1, group=2),
        t.relu("relu5", "conv5"),
        t.max_pool("pool5", "conv5", 3, 2),
        *t.classifier_head("pool5", [("fc6", 4096), ("fc7", 4096), ("fc8", 1000)]),
    ]
    return t.net("AlexNet", (1, 3, 227, 227), layers)
