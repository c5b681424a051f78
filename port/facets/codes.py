"""Codes: one flattened blob of the network per image, computed in batches.

Any network of the model seam (``port.mfv.model.VisModel``) gives codes
through its ``codes(x, name)``.  For a Caffe net a code is the blob as
pycaffe's ``net.blobs[name].data`` holds it after a forward pass: after
every layer that writes the blob, in-place ones included, so ``fc7`` is
taken after ``relu7`` and ``drop7`` (identity at test time), as feature
extraction from a Caffe net reads it.  For a torchvision net it is a
module's output (``port.models.torchvision_nets``).  Images are
preprocessed by the net's own input convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from port.facets.images import SkippedFile, UnreadableImageError, read_rgb
from port.mfv.model import VisModel


@dataclass(frozen=True)
class Codes:
    """The codes of the readable images, row ``i`` for ``paths[i]``, and the files skipped."""

    blob: str
    paths: list[Path]
    values: np.ndarray
    skipped: list[SkippedFile]


def input_size(net: VisModel) -> tuple[int, int]:
    """``(height, width)`` of the net's single image input."""
    return net.input_size


def check_blob(net: VisModel, blob: str) -> None:
    """Raise ``ValueError`` listing the net's blobs when it has none called ``blob``."""
    if blob not in net.code_shapes():
        raise ValueError(
            f"--layer {blob}: {net.source} has no blob of that name (blobs: {', '.join(net.code_shapes())})"
        )


def code_size(net: VisModel, blob: str) -> int:
    """Length of ``blob`` flattened per image."""
    check_blob(net, blob)
    return int(np.prod(net.code_shapes()[blob][1:]))


def _forward(net: VisModel, batch: np.ndarray, blob: str) -> np.ndarray:
    return net.codes(torch.from_numpy(batch).to(net.device), blob).cpu().numpy()


def compute_codes(
    net: VisModel, paths: Sequence[Path], blob: str, batch_size: int = 32, progress: bool = True
) -> Codes:
    """The ``blob`` code of every readable file in ``paths``, as float32 rows in file order.

    Images are read (``port.facets.images.read_rgb``), preprocessed by the
    net's input convention and run ``batch_size`` at a time;
    codes go straight into one preallocated array, so memory holds one batch
    of images and the codes.  Unreadable files are skipped and listed.
    """
    if batch_size < 1:
        raise ValueError(f"--batch-size {batch_size}: must be at least 1")
    size = input_size(net)
    values = np.empty((len(paths), code_size(net, blob)), dtype=np.float32)
    kept: list[Path] = []
    skipped: list[SkippedFile] = []
    with tqdm(total=len(paths), desc=f"codes {blob}", unit="img", disable=not progress) as bar:
        for start in range(0, len(paths), batch_size):
            batch, batch_paths = [], []
            for path in paths[start : start + batch_size]:
                try:
                    batch.append(net.convention.preprocess(read_rgb(path, size).astype(np.float32)))
                    batch_paths.append(path)
                except UnreadableImageError as exc:
                    skipped.append(SkippedFile(path, str(exc)))
            if batch:
                values[len(kept) : len(kept) + len(batch)] = _forward(net, np.stack(batch), blob)
                kept.extend(batch_paths)
            bar.update(len(paths[start : start + batch_size]))
    return Codes(blob, kept, values[: len(kept)], skipped)
