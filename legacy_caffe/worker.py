"""One worker loop for every iterative method's lockstep: frames in, frames out, until ``close``.

A lockstep worker is a long-lived job (the legacy side of
``parity.engine.lockstep``): the host sends requests and the worker answers
each with one frame (:mod:`legacy_caffe.frames`) on stdin/stdout.  This module
is the loop; a method supplies only its handlers, one function per request
``op`` (``{"op": "step", ...}`` with the state the step starts from, say),
each taking the request's header and arrays and returning the answer's
header and arrays.  ``{"op": "close"}`` or the end of the input ends the job;
an unknown op is an error naming it.  Python 2.7-compatible.
"""

from __future__ import absolute_import, division, print_function

import os
import sys

from legacy_caffe.frames import read_frame, write_frame
from legacy_caffe.job import JobError


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


def serve(job, handlers):
    """Answer requests with ``handlers`` (op -> function(header, arrays) -> (header, arrays)) until ``close``;
    the number served goes into the job's manifest."""
    requests, answers = _streams()
    served = 0
    while True:
        header, arrays = read_frame(requests)
        if header is None or header["op"] == "close":
            break
        handler = handlers.get(header["op"])
        if handler is None:
            raise JobError("unknown lockstep request %r" % (header["op"],))
        answer, answer_arrays = handler(header, arrays)
        write_frame(answers, dict(answer, op=header["op"]), answer_arrays)
        served += 1
    job.info["requests"] = served
    return {}
