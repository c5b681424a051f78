"""Forward passes over a batch of images in real Caffe: the ``forward_images`` job.

``forward_images``
    inputs ``prototxt``, ``weights``, ``images`` (a ``.npy`` of uint8 RGB
    images ``(N, H, W, 3)`` at the net's input size); params ``mean_bgr``
    (three numbers), ``blobs`` (the blobs to return), ``batch`` (images per
    forward pass, default 50).  Each image goes in by Caffe's convention
    (:func:`legacy_caffe.pixels.caffe_input`) and the net runs in the TEST
    phase.
    Arrays: ``blob/<name>`` ``(N, ...)`` float32 for each blob asked for.
    ``job.input_blob`` names the net's input.

Python 2.7-compatible; numpy and Caffe only.
"""

from __future__ import absolute_import, division, print_function

import numpy as np

from legacy_caffe.job import JobError
from legacy_caffe.pixels import caffe_input


def forward_images(job):
    caffe = job.caffe
    net = caffe.Net(job.input("prototxt"), job.input("weights"), caffe.TEST)
    images = np.load(job.input("images"), mmap_mode="r")
    names = list(job.param("blobs"))
    per_pass = int(job.param("batch", 50))
    mean_bgr = job.param("mean_bgr")
    data = net.inputs[0]
    shape = net.blobs[data].data.shape
    if images.ndim != 4 or images.shape[1:] != (shape[2], shape[3], 3) or images.dtype != np.uint8:
        raise JobError(
            "images %s %s: the net takes uint8 (N, %d, %d, 3)" % (images.shape, images.dtype, shape[2], shape[3])
        )
    unknown = [name for name in names if name not in net.blobs]
    if unknown:
        raise JobError("blobs %s: not in the net (blobs: %s)" % (unknown, ", ".join(net.blobs)))
    outputs = {}
    for start in range(0, images.shape[0], per_pass):
        chunk = images[start : start + per_pass]
        net.blobs[data].reshape(chunk.shape[0], 3, shape[2], shape[3])
        net.blobs[data].data[...] = caffe_input(chunk, mean_bgr)
        net.forward()
        for name in names:
            outputs.setdefault(name, []).append(net.blobs[name].data.copy())
    job.info.update(input_blob=data, images=int(images.shape[0]))
    return dict(("blob/" + name, np.concatenate(parts)) for name, parts in outputs.items())


KINDS = {"forward_images": forward_images}
