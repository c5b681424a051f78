"""Job kind ``mfv_lockstep``: MFV's step functions for the lockstep worker loop (:mod:`legacy_caffe.worker`).

The net is loaded once, with mask tops on its MAX pooling layers (as the
``layers`` probe loads it), so each step also reports Caffe's pooling
choices.  The worker keeps the reference loop's own
bookkeeping - its random stream (seeded, the random start drawn), the
octave table and its schedules - while the host supplies the images, so
both stacks work on the same numbers at every step (lockstep parity).
The loop, the frames on stdin/stdout and ``close`` are
:mod:`legacy_caffe.worker`'s; MFV answers these requests:

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
Inputs ``prototxt``, ``weights``; params ``octaves``, ``layer``, ``unit``,
``xy``, ``seed``.  Python 2.7-compatible.
"""

from __future__ import absolute_import, division, print_function

import numpy as np

from legacy_caffe import mfv_reference
from legacy_caffe.probes import load_prepared
from legacy_caffe.worker import serve


def mfv_lockstep(job):
    """Serve zoom, step and relu_outputs requests (:func:`legacy_caffe.worker.serve`) until ``close``."""
    net, masks = load_prepared(job, pool_masks=True)
    octaves = job.param("octaves")
    layer, unit, xy = job.param("layer"), int(job.param("unit")), int(job.param("xy", 0))
    rng = np.random.RandomState(int(job.param("seed")))
    crop_shape = tuple(net.blobs[net.inputs[0]].data.shape[2:])
    mfv_reference.start_image(rng, crop_shape)

    def zoom(header, arrays):
        return {}, {"zoomed": mfv_reference.zoom(arrays["image"], header["scale"])}

    def step(header, arrays):
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
        return record, stages

    def relu_outputs(header, arrays):
        return {}, _relu_outputs(net, header["layer"])

    return serve(job, {"zoom": zoom, "step": step, "relu_outputs": relu_outputs})


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
