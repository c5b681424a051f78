"""The one exception type of :mod:`port.caffe`."""

from __future__ import annotations

import os

__all__ = ["CaffeFormatError"]


class CaffeFormatError(ValueError):
    """A Caffe file or net that cannot be read or written as asked.

    Raised for every defect of the input itself: text that is not a
    ``NetParameter``, a truncated or corrupt caffemodel, blob data that does
    not fill the blob's shape, a net that cannot be expressed in the requested
    format version, and so on.  Problems of the file system (a missing file,
    a directory, missing permissions) are not format errors: they surface as
    the usual :class:`OSError` subclasses.

    The message starts with where the problem is, as far as known::

        deploy.prototxt:14: layer 'conv1': field 'blobs_lr': <reason>

    and the same pieces are kept as attributes for programs.

    Attributes:
        reason: What is wrong, without the location.
        path: The file concerned, or ``None`` for an in-memory net.
        line: 1-based line in a text file, or ``None``.
        layer: Name of the layer concerned, or ``None``.
        field: Name of the protobuf field concerned, or ``None``.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        layer: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.layer = layer
        self.field = field
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(self.path if self.line is None else f"{self.path}:{self.line}")
        if self.layer is not None:
            parts.append(f"layer {self.layer!r}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        parts.append(self.reason)
        return ": ".join(parts)
