"""The MFV octave loop on pycaffe, as the 2016 code runs it: the legacy reference.

Written from the contract in ``docs/legacy-spec.md`` (sections 2-4), every
quirk kept:

* the random start ``normal(175, 8, (227, 227, 3))`` is always drawn right
  after ``np.random.seed(seed)``, even when a mean image replaces it;
* crop offsets: one ``normal(mid, (H - 227) * window, 1)`` for the row
  offset, then one for the column offset, clipped and truncated by
  ``int()``, drawn only when the image is larger than the crop;
* step size ``start + ((end - start) * i) / iter_n`` and denoise weight
  ``start - (start - end * i) / iter_n`` with Python 2 division (floor
  division when both operands are ints), on any interpreter;
* ``x += step_size / mean(|g|) * g``, the per-channel clip, then joint
  three-channel ``denoise_tv_bregman(..., max_iter=100, eps=1e-3)`` in
  float64; a ``scale`` octave always calls ``scipy.ndimage.zoom``;
* the output is ``np.uint8(image)`` saved by PIL as JPEG (default quality)
  named ``<name>_<unit:04d>.jpg``.

The target's activations of iteration i describe the image before step i.
For a conv target the original records nothing (it would fail on return);
here the best unit is the arg-max over channels at (xy, xy).

One deliberate stop: the original carries on after a step turns the crop
into NaN (a zero mean|g|), but on Caffe 1.0 a NaN input leaves MAX
pooling's argmax mask at -1 and its backward pass then writes before the
start of the bottom diff - heap corruption, which glibc reports as "double
free or corruption" and aborts.  The reference therefore stops at the
first non-finite crop; the trace ends with that iteration (finite False).

Job kind ``mfv_run``: inputs ``prototxt``, ``weights`` and optionally
``start`` (an image file); params ``octaves`` (the preset table, numbers
typed as in the original), ``layer``, ``unit``, ``xy``, ``seed``, ``name``.
Writes ``final.npy`` (H x W x 3 RGB float32, as deprocessed), the JPEG and
``trace.csv``.  Python 2.7-compatible.
"""

from __future__ import absolute_import, division, print_function

import csv
import operator

import numpy as np
import PIL.Image
import scipy.ndimage as nd
from skimage.restoration import denoise_tv_bregman

MEAN = np.float32([104.0, 117.0, 123.0])[:, np.newaxis, np.newaxis]
TRACE_FIELDS = (
    "iteration",
    "octave",
    "i",
    "layer",
    "ox",
    "oy",
    "step_size",
    "denoise_weight",
    "best_unit",
    "best_act",
    "target_act",
    "mean_abs_grad",
    "finite",
)


def preprocess(img):
    """HxWx3 RGB -> float32 CHW BGR minus the mean."""
    return np.float32(np.rollaxis(img, 2)[::-1]) - MEAN


def deprocess(img):
    """float32 CHW BGR minus the mean -> HxWx3 RGB."""
    return np.dstack((img + MEAN)[::-1])


def py2_div(a, b):
    """``a / b`` as Python 2 evaluates it: floor division when both are ints."""
    if isinstance(a, int) and isinstance(b, int):
        return operator.floordiv(a, b)
    return operator.truediv(a, b)


def schedule(octave, i):
    """(step size, denoise weight) of iteration ``i`` of ``octave``, legacy formulas."""
    start, end = octave["step"]
    step_size = start + py2_div((end - start) * i, octave["iter_n"])
    start, end = octave["denoise"]
    denoise_weight = start - py2_div(start - end * i, octave["iter_n"])
    return step_size, denoise_weight


def draw_offsets(rng, image_shape, crop_shape, window):
    """Row and column offsets of this iteration's crop (no draw when the image fits the crop)."""
    rows, cols = image_shape
    h, w = crop_shape
    if rows <= h:
        return 0, 0
    ox = int(np.clip(rng.normal((rows - h) / 2.0, (rows - h) * window, 1), 0, rows - h)[0])
    oy = int(np.clip(rng.normal((cols - w) / 2.0, (cols - w) * window, 1), 0, cols - w)[0])
    return ox, oy


def cut(image, ox, oy, crop_shape):
    """The crop of a CHW image at rows ``ox`` and columns ``oy`` (a view: assigning to it writes back)."""
    h, w = crop_shape
    return image[:, ox : ox + h, oy : oy + w]


def start_image(rng, shape, path=None):
    """The random start (always drawn), replaced by the image at ``path`` if one is given."""
    image = rng.normal(np.float32([175.0, 175.0, 175.0]), 8, shape + (3,))
    if path is not None:
        image = np.float32(PIL.Image.open(path))
    return image


def make_step(net, crop, layer, unit, xy, margin, step_size, denoise_weight, stages=None):
    """One gradient step on ``crop`` (float32 CHW); returns the new crop and the step's record.

    With a dict as ``stages``, the intermediate arrays (gradient after the
    margin mask, stepped, clipped, denoised) are stored in it.
    """
    src = net.blobs[net.inputs[0]]
    dst = net.blobs[net.top_names[layer][0]]
    src.data[0] = crop
    net.forward(end=layer)
    acts = dst.data[0]
    if acts.ndim == 1:
        scores = acts
    else:
        scores = acts[:, xy, xy]
    best_unit = int(scores.argmax())
    record = {"best_unit": best_unit, "best_act": float(scores[best_unit]), "target_act": float(scores[unit])}
    one_hot = np.zeros_like(dst.data)
    if acts.ndim == 1:
        one_hot.flat[unit] = 1.0
    else:
        one_hot[:, unit, xy, xy] = 1.0
    dst.diff[:] = one_hot
    net.backward(start=layer)
    g = src.diff[0].copy()
    if margin != 0:
        h, w = g.shape[1:]
        mask = np.zeros_like(g)
        mask[:, margin : h - margin, margin : w - margin] = 1
        g *= mask
    mean_abs = np.abs(g).mean()
    record["mean_abs_grad"] = float(mean_abs)
    with np.errstate(divide="ignore", invalid="ignore"):
        src.data[:] += step_size / mean_abs * g
    stepped = src.data[0].copy()
    src.data[:] = np.clip(src.data, -MEAN, 255 - MEAN)
    clipped = src.data[0].copy()
    asimg = deprocess(src.data[0]).astype(np.float64)
    denoised = denoise_tv_bregman(asimg, weight=denoise_weight, max_iter=100, eps=1e-3)
    src.data[0] = preprocess(denoised)
    dst.diff.fill(0.0)
    result = src.data[0].copy()
    record["finite"] = bool(np.isfinite(result).all())
    if stages is not None:
        stages.update(gradient=g, stepped=stepped, clipped=clipped, denoised=result)
    return result, record


def zoom(image, scale):
    """``scipy.ndimage.zoom`` of a CHW image over H and W (cubic spline, default mode)."""
    return nd.zoom(image, (1, scale, scale))


def max_activation(net, octaves, layer, unit, xy, seed, start_path=None):
    """Run the whole loop; return (final HxWx3 RGB image, trace rows)."""
    rng = np.random.RandomState(seed)
    crop_shape = tuple(net.blobs[net.inputs[0]].data.shape[2:])
    image = preprocess(start_image(rng, crop_shape, start_path))
    trace = []
    for index, octave in enumerate(octaves):
        if octave.get("scale") is not None:
            image = zoom(image, octave["scale"])
        target_layer = octave.get("layer") or layer
        for i in range(octave["iter_n"]):
            ox, oy = draw_offsets(rng, image.shape[1:], crop_shape, octave["window"])
            step_size, denoise_weight = schedule(octave, i)
            crop, record = make_step(
                net, cut(image, ox, oy, crop_shape), target_layer, unit, xy, octave["margin"], step_size, denoise_weight
            )
            cut(image, ox, oy, crop_shape)[...] = crop
            record.update(
                iteration=len(trace),
                octave=index,
                i=i,
                layer=target_layer,
                ox=ox,
                oy=oy,
                step_size=step_size,
                denoise_weight=denoise_weight,
            )
            trace.append(record)
            if not record["finite"]:
                return deprocess(image), trace
    return deprocess(image), trace


def write_trace(path, trace):
    with open(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRACE_FIELDS)
        writer.writeheader()
        for row in trace:
            writer.writerow(
                dict((key, repr(row[key]) if isinstance(row[key], float) else row[key]) for key in TRACE_FIELDS)
            )


def mfv_run(job):
    """Job kind ``mfv_run``: the whole reference loop."""
    caffe = job.caffe
    net = caffe.Net(job.input("prototxt"), job.input("weights"), caffe.TEST)
    start = job.input("start") if "start" in job.inputs else None
    unit = int(job.param("unit"))
    image, trace = max_activation(
        net, job.param("octaves"), job.param("layer"), unit, int(job.param("xy", 0)), int(job.param("seed")), start
    )
    np.save(job.output("final.npy"), image.astype(np.float32))
    with np.errstate(invalid="ignore"):
        PIL.Image.fromarray(np.uint8(image)).save(job.output("%s_%s.jpg" % (job.param("name"), str(unit).zfill(4))))
    write_trace(job.output("trace.csv"), trace)
    bad = [row["iteration"] for row in trace if not row["finite"]]
    job.info.update(iterations=len(trace), first_non_finite=bad[0] if bad else None)
    return {}


KINDS = {"mfv_run": mfv_run}
