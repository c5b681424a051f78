"""The job runner behind ``python -m legacy_caffe JOB.json``.

A job file is JSON::

    {"kind": str, "params": {...}, "inputs": {name: path relative to the job file},
     "out_dir": "out"}

The runner changes into the job file's folder, looks the kind up, imports
Caffe (CPU mode) only then, runs the kind's function and writes into
``out_dir``:

* ``result.npz``: the arrays the function returned (possibly none);
* ``manifest.json``: ``kind``, ``params``, ``inputs``, ``environment`` (see
  :func:`legacy_caffe.manifest.environment`), ``threads`` (``requested``: the
  thread variables as set; ``observed``: the count OpenBLAS reports, None if
  it cannot be asked), ``wall_seconds`` (``import_caffe``, ``job``,
  ``total``), ``notes`` (a list of remarks) and ``job`` (what the kind
  records about itself);
* any other file the function writes there.

Exit codes are those of :mod:`legacy_caffe.protocol`; on failure stderr
says why.  A kind is a function ``f(job) -> {key: ndarray}`` taking a
:class:`Job`.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys
import timeit
import traceback

import numpy as np

from legacy_caffe import manifest, protocol

_REQUIRED = object()


class JobError(Exception):
    """The job cannot run as asked; the message is all its user needs."""


class CaffeMissing(Exception):
    """``import caffe`` failed: this interpreter is no legacy stack."""


class Job(object):
    """What a kind's function sees: its parameters, inputs, output folder and Caffe.

    ``info`` becomes the manifest's ``job`` section and ``notes`` its
    ``notes``; the function fills them as it goes.  The working folder is
    the job folder, which the host deletes after the job.
    """

    def __init__(self, kind, params, inputs, out_dir, caffe):
        self.kind = kind
        self.params = params
        self.inputs = inputs
        self.out_dir = os.path.abspath(out_dir)
        self.caffe = caffe
        self.info = {}
        self.notes = []
        if not os.path.isdir(self.out_dir):
            os.makedirs(self.out_dir)

    def param(self, name, default=_REQUIRED):
        """Return parameter ``name``, or ``default``; a missing required one is a JobError."""
        if name in self.params:
            return self.params[name]
        if default is _REQUIRED:
            raise JobError("job %r needs parameter %r" % (self.kind, name))
        return default

    def input(self, name):
        """Return the absolute path of input ``name`` (a ``str``, as Caffe wants)."""
        if name not in self.inputs:
            raise JobError("job %r needs input %r; it was given %s" % (self.kind, name, sorted(self.inputs) or "none"))
        path = str(os.path.abspath(self.inputs[name]))
        if not os.path.exists(path):
            raise JobError("input %r of job %r: no file at %s" % (name, self.kind, path))
        return path

    def output(self, filename):
        """Return the path (a ``str``) at which to write output ``filename``."""
        return str(os.path.join(self.out_dir, filename))

    def scratch(self, filename):
        """Return a path (a ``str``) in the job folder for a file that is no output."""
        return str(os.path.abspath(filename))


def import_caffe():
    """Import pycaffe, put it in CPU mode and return it; CaffeMissing if it will not import."""
    try:
        import caffe
    except ImportError as error:
        raise CaffeMissing("caffe is not importable in %s (%s: %s)" % (sys.executable, type(error).__name__, error))
    caffe.set_mode_cpu()
    return caffe


def main(argv, kinds):
    """Run the job file named by ``argv``'s one element with the ``kinds`` registry; return the exit code."""
    if len(argv) != 1:
        print("usage: python -m legacy_caffe JOB.json", file=sys.stderr)
        return protocol.EXIT_USAGE
    try:
        run(argv[0], kinds)
    except CaffeMissing as error:
        _complain(str(error))
        return protocol.EXIT_NO_CAFFE
    except JobError as error:
        _complain(str(error))
        return protocol.EXIT_JOB_FAILED
    except Exception:
        traceback.print_exc()
        _complain("the job failed with the error above")
        return protocol.EXIT_JOB_FAILED
    return protocol.EXIT_OK


def _complain(message):
    print("legacy_caffe: %s" % message, file=sys.stderr)


def run(job_file, kinds):
    """Run one job file with the ``kinds`` registry and write its results."""
    started = timeit.default_timer()
    os.chdir(os.path.dirname(os.path.abspath(job_file)))
    with open(job_file) as handle:
        spec = json.load(handle)
    kind = spec.get("kind")
    if kind not in kinds:
        raise JobError("unknown job kind %r; known kinds: %s" % (kind, ", ".join(sorted(kinds))))
    caffe = import_caffe()
    imported = timeit.default_timer()
    job = Job(kind, spec.get("params") or {}, spec.get("inputs") or {}, spec.get("out_dir", "out"), caffe)
    arrays = kinds[kind](job)
    finished = timeit.default_timer()

    np.savez(job.output(protocol.RESULT_FILE), **arrays)
    environment = manifest.environment(caffe)
    record = {
        "kind": kind,
        "params": job.params,
        "inputs": job.inputs,
        "environment": environment,
        "threads": _threads(environment, job.notes),
        "blas_core": _blas_core(environment, job.notes),
        "notes": job.notes,
        "job": job.info,
        "wall_seconds": {
            "import_caffe": imported - started,
            "job": finished - imported,
            "total": timeit.default_timer() - started,
        },
    }
    with open(job.output(protocol.MANIFEST_FILE), "w") as handle:
        json.dump(record, handle, indent=1, sort_keys=True, default=_json_value)


def _threads(environment, notes):
    """Return the requested and observed BLAS thread counts; note any disagreement."""
    requested = dict((name, os.environ.get(name)) for name in protocol.THREAD_VARIABLES)
    openblas = environment["blas"]["openblas"]
    observed = openblas.get("num_threads")
    wanted = requested["OPENBLAS_NUM_THREADS"]
    if observed is None:
        notes.append("BLAS thread count not observable: %s" % openblas["note"])
    elif wanted is not None and str(observed) != wanted:
        notes.append(
            "OpenBLAS runs %d threads, not the %s requested; this interpreter sees %d CPUs"
            % (observed, wanted, environment["cpu_count"])
        )
    return {"requested": requested, "observed": observed}


def _blas_core(environment, notes):
    """Return the requested and observed OpenBLAS kernel; note any disagreement.

    OpenBLAS names a kernel in lower case (``haswell``) where the variable
    may be capitalised (``Haswell``), so the two are compared ignoring case.
    """
    requested = os.environ.get(protocol.CORE_VARIABLE)
    observed = environment["blas"]["openblas"].get("corename")
    if requested is not None and observed is not None and observed.lower() != requested.lower():
        notes.append("OpenBLAS runs the %s kernel, not the %s requested" % (observed, requested))
    return {"requested": requested, "observed": observed}


def _json_value(value):
    """Make numpy scalars and arrays JSON-serialisable."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError("not JSON-serialisable: %r" % (value,))
