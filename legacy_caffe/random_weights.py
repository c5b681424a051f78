"""Deterministic random network weights, identical on every numpy since 1.11.

Pure numpy and Python 2.7-compatible: the legacy stack uses it to fill a
pycaffe net before ``net.save`` and the port uses it to make the same weights
without Caffe.  Streams come from ``numpy.random.RandomState`` (the legacy
generator, whose output numpy guarantees stable across versions).

Scheme, for learnable blobs in network order:

* blob 0 (weights) of shape ``(out, *rest)``: ``N(0, sqrt(2 / fan_in))`` with
  ``fan_in = prod(rest)`` (He et al. 2015), so ReLU stacks keep their scale;
* blob 1 (bias): ``N(0, 0.01)``;
* any further blob: ``N(0, 0.01)``.

Each layer draws from its own ``RandomState(seed + i)`` where ``i`` is the
layer's index among the learnable layers, so inserting a layer at the end
leaves earlier weights unchanged.  Draws are float64, rounded once to float32.
"""
import numpy as np

BIAS_STD = 0.01


def _blob_std(index, shape):
    if index == 0 and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return float(np.sqrt(2.0 / fan_in))
    return BIAS_STD


def random_blobs(layer_shapes, seed):
    """Return ``[(layer_name, [float32 arrays])]`` for ``[(layer_name, [shapes])]``.

    ``layer_shapes`` lists the learnable layers in network order with the
    shapes of their blobs; the result keeps that order.
    """
    result = []
    for layer_index, (name, shapes) in enumerate(layer_shapes):
        rs = np.random.RandomState(int(seed) + layer_index)
        blobs = []
        for blob_index, shape in enumerate(shapes):
            shape = tuple(int(d) for d in shape)
            std = _blob_std(blob_index, shape)
            blobs.append(rs.normal(0.0, std, size=shape).astype(np.float32))
        result.append((name, blobs))
    return result
