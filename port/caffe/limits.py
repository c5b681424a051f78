"""Caffe's size limit on one blob, checked before anything that size is allocated.

Caffe's ``Blob::Reshape`` refuses a blob of more than ``INT_MAX`` values
(``CHECK_LE(count_, INT_MAX)``); the port refuses the same nets, inputs,
tops and parameter blobs alike, before torch tries to allocate them.  It
also refuses empty blobs (a dimension of 0): nothing can flow through them,
and random weights for them would divide by a fan-in of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from port.caffe.errors import CaffeFormatError

MAX_BLOB_VALUES = 2**31 - 1
FLOAT32_BYTES = 4


class BlobSizeError(CaffeFormatError):
    """A blob empty or over Caffe's limit; the network adds the file and layer to it."""


def check_blob_size(shape: Sequence[int], what: str) -> None:
    """Raise :class:`BlobSizeError` when a blob of ``shape`` would be empty or exceed ``MAX_BLOB_VALUES`` values."""
    count = math.prod(shape)
    if count == 0:
        raise BlobSizeError(f"{what} would be {' x '.join(map(str, shape))}: empty")
    if count > MAX_BLOB_VALUES:
        gib = count * FLOAT32_BYTES / 2**30
        raise BlobSizeError(
            f"{what} would be {' x '.join(map(str, shape))} = {count:,} values ({gib:,.1f} GiB as float32); "
            f"Caffe's limit is {MAX_BLOB_VALUES:,} values per blob"
        )
