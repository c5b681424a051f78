"""Job kind ``mfv_lockstep``: a long-lived reference loop driven one step at a time.

The net is loaded once, with mask tops on its MAX pooling layers (as the
``layers`` probe loads it), so each step also reports Caffe's pooling
choices.  The worker keeps the reference loop's own
bookkeeping - its random stream (seeded, the random start drawn), the
octave table and its schedules - while the host supplies the images, so
both stacks work on the same numbers at every step (lockstep parity).
Requests and answers are frames (:mod:`legacy_caffe.frames`) on
stdin/stdout:

``{"op": "zoom", "scale": s}`` with ``image``
    answers ``zoomed``: ``scipy.ndimage.zoom`` of the host's image.
``{"op": "step", "octave": k, "i": i}`` with ``image``
    draws this iteration's offsets from the worker's stream, computes its
    schedules, cuts the crop from the host's image at those offsets as the
    reference loop does, runs ``make_step`` on it, writes the result back
    and answers the offsets, schedules and record in the header and, as
    arrays, ``crop`` (what it cut), ``written`` (the image after the
    write-back), ``gradient``, ``stepped``, ``clipped``, ``denoised`` and
    ``mask/<layer>`` (Caffe's argmax of each MAX pooling layer the forward
    pass ran).
``{"op": "relu_outputs", "layer": L}``
    answers each ReLU layer's output (up to layer L) from the last step's
    forward pass, by layer name: where it is zero, Caffe's ReLU was off.
``{"op": "close"}``
    ends the job.

Inputs ``prototxt``, ``weights``; params ``octaves``, ``layer``, ``unit``,
``xy``, ``seed``.  Python 2.7-compatible.
"""

from __future__ import absolute_import, division, print_function

import os
import sys

import numpy as np

from legacy_caffe import mfv_reference
from legacy_caffe.frames import read_frame, write_frame
from legacy_caffe.job import JobError
from legacy_caffe.probes import load_prepared


def _streams():
    """The request stream, and an answer stream on a private copy of stdout.

    File descriptor 1 itself is pointed at stderr, so nothing Caffe or
    numpy prints (from Python or C) can fall into the frames.
    """
    sys.stdout.flush()
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return getattr(sys.stdin, "buffer", sys.stdin), answers


def mfv_lockstep(job):
    """Serve zoom and step requests until ``close``."""
    net, masks = load_prepared(job, pool_masks=True)
    octaves = job.param("octaves")
    layer, unit, xy = job.param("layer"), int(job.param("unit")), int(job.param("xy", 0))
    rng = np.random.RandomState(int(job.param("seed")))
    crop_shape = tuple(net.blobs[net.inputs[0]].data.shape[2:])
    mfv_reference.start_image(rng, crop_shape)
    requests, answers = _streams()
    served = 0
    while True:
        header, arrays = read_frame(requests)
        if header is None or header["op"] == "close":
            break
        if header["op"] == "zoom":
            write_frame(answers, {"op": "zoom"}, {"zoomed": mfv_reference.zoom(arrays["image"], header["scale"])})
        elif header["op"] == "step":
            octave, image = octaves[header["octave"]], arrays["image"]
            ox, oy = mfv_reference.draw_offsets(rng, image.shape[1:], crop_shape, octave["window"])
            step_size, denoise_weight = mfv_reference.schedule(octave, header["i"])
            stages = {"crop": mfv_reference.cut(image, ox, oy, crop_shape).copy()}
            crop, record = mfv_reference.make_step(
                net,
                mfv_reference.cut(image, ox, oy, crop_shape),
                octave.get("layer") or layer,
                unit,
                xy,
                octave["margin"],
                step_size,
                denoise_weight,
                stages,
            )
            mfv_reference.cut(image, ox, oy, crop_shape)[...] = crop
            stages["written"] = image
            record.update(ox=ox, oy=oy, step_size=step_size, denoise_weight=denoise_weight)
            stages.update(("mask/" + layer_name, net.blobs[blob].data.copy()) for layer_name, blob in masks.items())
            write_frame(answers, dict(record, op="step"), stages)
        elif header["op"] == "relu_outputs":
            write_frame(answers, {"op": "relu_outputs"}, _relu_outputs(net, header["layer"]))
        else:
            raise JobError("unknown lockstep request %r" % (header["op"],))
        served += 1
    job.info["requests"] = served
    return {}


def _relu_outputs(net, last_layer):
    """Each ReLU layer's output from the last forward pass (up to ``last_layer``), by layer name."""
    outputs = {}
    for name, layer in zip(net._layer_names, net.layers):
        if layer.type == "ReLU":
            outputs[name] = net.blobs[net.top_names[name][0]].data.copy()
        if name == last_layer:
            break
    return outputs


KINDS = {"mfv_lockstep": mfv_lockstep}
