"""Planted images as one array at a network's input size: what training and evaluation read.

Each image is drawn at the spec's size (256 x 256) and resized to the net's
input with PIL's bilinear filter (``port.imaging.resize_rgb8``), the very
resize ``mfv facets`` applies to an image file, so a network sees the same
pixels whether it reads this array or the image written to disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from port.imaging import resize_rgb8
from port.planted.images import planted_image
from port.planted.spec import PLANTED, PlantedSpec


@dataclass(frozen=True, eq=False)
class PlantedSet:
    """``images`` uint8 ``(N, size, size, 3)`` RGB; ``classes``, ``facets`` (global) and
    ``indices`` (the images' indices under ``seed``) int64 ``(N,)``."""

    seed: int
    size: int
    images: np.ndarray
    classes: np.ndarray
    facets: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.classes)


def planted_set(
    seed: int, indices: Sequence[int], size: int, *, spec: PlantedSpec = PLANTED, progress: bool = False
) -> PlantedSet:
    """Planted images ``indices`` of ``seed`` (``planted_indices`` lists a balanced run), resized to ``size``."""
    images = np.empty((len(indices), size, size, 3), dtype=np.uint8)
    labels = np.empty((3, len(indices)), dtype=np.int64)
    bar = tqdm(indices, desc=f"planted seed {seed}", unit="img", disable=not progress)
    for i, index in enumerate(bar):
        item = planted_image(seed, index, spec=spec)
        images[i] = resize_rgb8(item.image, (size, size))
        labels[:, i] = item.class_index, item.facet, item.index
    return PlantedSet(seed, size, images, labels[0], labels[1], labels[2])
