"""Frames between a host and a long-lived legacy worker, over the worker's stdin and stdout.

A frame is one line of UTF-8 JSON (the header, with ``"payload": n``)
followed by ``n`` bytes: an ``.npz`` archive of the frame's arrays (none
when ``n`` is 0).  Python 2.7-compatible; both sides import this module.
"""

from __future__ import absolute_import

import io
import json

import numpy as np


def write_frame(stream, header, arrays=None):
    """Write ``header`` (a JSON-able dict) and ``arrays`` (name -> ndarray) to a binary stream."""
    payload = b""
    if arrays:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        payload = buffer.getvalue()
    header = dict(header, payload=len(payload))
    stream.write(json.dumps(header, sort_keys=True).encode("utf-8") + b"\n")
    stream.write(payload)
    stream.flush()


def read_frame(stream):
    """Read one frame; return ``(header, arrays)``, or ``(None, {})`` at the end of the stream."""
    line = stream.readline()
    if not line:
        return None, {}
    header = json.loads(line.decode("utf-8"))
    size = header.pop("payload")
    arrays = {}
    if size:
        payload = _read_exactly(stream, size)
        archive = np.load(io.BytesIO(payload), allow_pickle=False)
        arrays = dict((key, archive[key]) for key in archive.files)
    return header, arrays


def _read_exactly(stream, size):
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError("the frame's payload ended early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
