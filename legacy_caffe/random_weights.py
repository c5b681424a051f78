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

Two layer types get statistics a trained net would have instead, so that
deep BatchNorm + Scale stacks (ResNet) stay finite and keep their scale:

* ``BatchNorm`` (mean sum, variance sum, scale factor): a factor
  ``f ~ U(0.5, 2)``, means ``N(0, 0.1)`` and variances ``U(0.5, 1.5)``,
  stored as Caffe stores running sums: ``[mean * f, variance * f, [f]]``;
* ``Scale``: the scale ``N(1, 0.1)``, a bias (if any) ``N(0, 0.01)``.

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


def _batch_norm_blobs(rs, shapes):
    channels = tuple(int(d) for d in shapes[0])
    factor = rs.uniform(0.5, 2.0)
    mean = rs.normal(0.0, 0.1, size=channels)
    variance = rs.uniform(0.5, 1.5, size=channels)
    return [
        (mean * factor).astype(np.float32),
        (variance * factor).astype(np.float32),
        np.full(tuple(int(d) for d in shapes[2]), factor, dtype=np.float32),
    ]


def _generic_blobs(rs, shapes, means=()):
    blobs = []
    for blob_index, shape in enumerate(shapes):
        shape = tuple(int(d) for d in shape)
        mean = means[blob_index] if blob_index < len(means) else 0.0
        std = 0.1 if mean else _blob_std(blob_index, shape)
        blobs.append(rs.normal(mean, std, size=shape).astype(np.float32))
    return blobs


def random_blobs(layer_shapes, seed, layer_types=None):
    """Return ``[(layer_name, [float32 arrays])]`` for ``[(layer_name, [shapes])]``.

    ``layer_shapes`` lists the learnable layers in network order with the
    shapes of their blobs; the result keeps that order.  ``layer_types``
    maps layer names to Caffe type strings (``BatchNorm`` and ``Scale`` get
    their own scheme; see the module docstring).
    """
    types = layer_types or {}
    result = []
    for layer_index, (name, shapes) in enumerate(layer_shapes):
        rs = np.random.RandomState(int(seed) + layer_index)
        kind = types.get(name)
        if kind == "BatchNorm" and len(shapes) == 3:
            blobs = _batch_norm_blobs(rs, shapes)
        else:
            blobs = _generic_blobs(rs, shapes, (1.0,) if kind == "Scale" else ())
        result.append((name, blobs))
    return result
