"""Training in real Caffe on batches the host prepared: the ``train`` job.

``train``
    inputs ``solver`` (a solver prototxt), ``net`` (its training net, with an
    ``Input`` layer whose tops are ``data`` and the label blobs), ``deploy``
    (the deploy prototxt), ``images`` (a ``.npy`` of uint8 RGB images,
    ``(N, H, W, 3)``), ``order`` (a ``.npy`` of int64 image indices,
    ``(steps, batch)``: the batch of each step) and one ``.npy`` of int64
    labels, ``(N,)``, per label blob, named ``label_<blob>``; params
    ``steps``, ``mean_bgr`` (three numbers), ``labels`` (the label blobs'
    names), ``losses`` (the loss blobs' names), ``training_only`` (the
    learnable layers of the training net the deploy net leaves out).

    Opens the solver with pycaffe (``caffe.get_solver``, the solver's own
    ``random_seed`` seeding Caffe's fillers and dropout) with its ``net``
    pointed at the staged training net, then per step writes the step's
    images into ``data`` in Caffe's convention
    (:func:`legacy_caffe.pixels.caffe_input`) and the labels into their
    blobs, and calls ``solver.step(1)``.
    A loss that is not finite stops the job, naming the step.  After the
    last step (and each snapshot step) a deploy net gets the trained blobs
    layer by layer and Caffe writes it with ``net.save``, as
    ``weights.caffemodel`` (``weights_<step>.caffemodel`` for a snapshot).

    Arrays: ``losses`` ``(steps, len(losses))`` float32, each loss blob
    after each step's forward pass; ``correct`` ``(steps,)`` int, how many of
    the step's batch the first loss's scores classified right.
    ``job.info``: ``steps``, ``batch``, ``solver`` (the solver as text),
    ``seconds_per_step``.

Python 2.7-compatible; numpy and Caffe only.
"""

from __future__ import absolute_import, division, print_function

import sys
import timeit

import numpy as np

from legacy_caffe.job import JobError
from legacy_caffe.pixels import caffe_input

WEIGHTS_FILE = "weights.caffemodel"
SNAPSHOT_FILE = "weights_%d.caffemodel"
PROGRESS_EVERY = 100


def _solver_file(job):
    """The solver prototxt with ``net`` pointed at the staged training net; its path and text."""
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format

    param = caffe_pb2.SolverParameter()
    with open(job.input("solver")) as handle:
        text_format.Merge(handle.read(), param)
    steps = int(job.param("steps"))
    if steps < 1 or steps > param.max_iter:
        raise JobError("steps %d: must be between 1 and the solver's max_iter %d" % (steps, param.max_iter))
    param.net = job.input("net")
    text = text_format.MessageToString(param)
    path = job.scratch("solver.prototxt")
    with open(path, "w") as handle:
        handle.write(text)
    return path, text


def _check_shapes(net, images, order, labels, steps):
    batch = net.blobs["data"].data.shape
    if order.ndim != 2 or order.shape[0] < steps or order.shape[1] != batch[0]:
        raise JobError("order %s: needs at least %d steps of batch %d" % (order.shape, steps, batch[0]))
    if images.ndim != 4 or images.shape[1:] != (batch[2], batch[3], 3) or images.dtype != np.uint8:
        raise JobError(
            "images %s %s: the net takes uint8 (N, %d, %d, 3)" % (images.shape, images.dtype, batch[2], batch[3])
        )
    if order.min() < 0 or order.max() >= images.shape[0]:
        raise JobError("order: indices must lie in 0..%d" % (images.shape[0] - 1))
    for name, values in labels.items():
        if name not in net.blobs:
            raise JobError("label blob %r: not in the training net (blobs: %s)" % (name, ", ".join(net.blobs)))
        if values.shape != (images.shape[0],):
            raise JobError("labels %r %s: need one per image, (%d,)" % (name, values.shape, images.shape[0]))


def _check_layers(deploy, train_net, training_only):
    """Every learnable layer of either net must be in both or listed as training-only."""
    missing = [name for name in deploy.params if name not in train_net.params]
    unused = [name for name in train_net.params if name not in deploy.params and name not in training_only]
    if missing or unused:
        raise JobError(
            "the deploy and training nets disagree: deploy layers not trained %s, trained layers not deployed %s"
            % (missing, unused)
        )


def _save_deploy(deploy, train_net, path):
    """Copy ``train_net``'s blobs into ``deploy`` layer by layer and let Caffe write it to ``path``."""
    for name in deploy.params:
        for index, blob in enumerate(deploy.params[name]):
            trained = train_net.params[name][index].data
            if blob.data.shape != trained.shape:
                raise JobError(
                    "layer %r blob %d: deploy shape %s, trained %s" % (name, index, blob.data.shape, trained.shape)
                )
            blob.data[...] = trained
    deploy.save(path)


def train(job):
    caffe = job.caffe
    solver_path, solver_text = _solver_file(job)
    steps = int(job.param("steps"))
    loss_names = list(job.param("losses"))
    images = np.load(job.input("images"), mmap_mode="r")
    order = np.load(job.input("order"))
    labels = dict((name, np.load(job.input("label_" + name))) for name in job.param("labels"))
    mean_bgr = job.param("mean_bgr")

    snapshots = set(int(step) for step in job.param("snapshots", []))
    solver = caffe.get_solver(solver_path)
    net = solver.net
    _check_shapes(net, images, order, labels, steps)
    deploy = caffe.Net(job.input("deploy"), caffe.TEST)
    _check_layers(deploy, net, set(job.param("training_only", [])))
    first = labels[job.param("labels")[0]]
    losses = np.zeros((steps, len(loss_names)), dtype=np.float32)
    correct = np.zeros(steps, dtype=np.int64)
    started = timeit.default_timer()
    for step in range(steps):
        batch = order[step]
        net.blobs["data"].data[...] = caffe_input(images[batch], mean_bgr)
        for name, values in labels.items():
            net.blobs[name].data[...] = values[batch]
        solver.step(1)
        losses[step] = [float(net.blobs[name].data) for name in loss_names]
        if not np.all(np.isfinite(losses[step])):
            raise JobError("step %d: loss %s is not finite; training stopped" % (step + 1, losses[step].tolist()))
        scores = net.blobs[_scores_blob(net, loss_names[0])].data
        correct[step] = int(np.sum(scores.argmax(axis=1) == first[batch]))
        if step + 1 in snapshots:
            _save_deploy(deploy, net, job.output(SNAPSHOT_FILE % (step + 1)))
        if (step + 1) % PROGRESS_EVERY == 0 or step + 1 == steps:
            print("step %d/%d  losses %s" % (step + 1, steps, np.round(losses[step], 4).tolist()), file=sys.stderr)
    seconds = timeit.default_timer() - started

    _save_deploy(deploy, net, job.output(WEIGHTS_FILE))
    job.info.update(
        steps=steps,
        batch=int(order.shape[1]),
        solver=solver_text,
        seconds_per_step=seconds / steps,
    )
    return {"losses": losses, "correct": correct}


def _scores_blob(net, loss_name):
    """The scores blob feeding the loss layer whose top is ``loss_name``."""
    for layer_name, layer in zip(net._layer_names, net.layers):
        if layer.type == "SoftmaxWithLoss" and net.top_names[layer_name] == [loss_name]:
            return net.bottom_names[layer_name][0]
    raise JobError("no SoftmaxWithLoss layer writes %r" % (loss_name,))


KINDS = {"train": train}
