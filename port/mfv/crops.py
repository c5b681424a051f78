"""Random crops of the MFV loop (docs/legacy-spec.md, section 4): their offsets, and where they lie in the image."""

from __future__ import annotations

import numpy as np
import torch


def draw_offsets(
    rng: np.random.RandomState, image_shape: tuple[int, int], crop_shape: tuple[int, int], window: float
) -> tuple[int, int]:
    """Row and column offsets of one iteration's crop.

    When the image is taller than the crop: ``ox = int(clip(normal((H - h) / 2,
    (H - h) * window, 1), 0, H - h))``, then ``oy`` the same way over the
    columns - two draws from ``rng``, in that order.  Otherwise (0, 0) and no
    draw, as in the original.
    """
    rows, cols = image_shape
    h, w = crop_shape
    if rows <= h:
        return 0, 0
    ox = int(np.clip(rng.normal((rows - h) / 2.0, (rows - h) * window, 1), 0, rows - h)[0])
    oy = int(np.clip(rng.normal((cols - w) / 2.0, (cols - w) * window, 1), 0, cols - w)[0])
    return ox, oy


def crop_at(image: torch.Tensor, offsets: tuple[int, int], crop_shape: tuple[int, int]) -> torch.Tensor:
    """The crop of a (C, H, W) image at rows from ``ox`` and columns from ``oy``: a view, so that
    assigning to it writes a stepped crop back where it was cut."""
    (ox, oy), (h, w) = offsets, crop_shape
    return image[:, ox : ox + h, oy : oy + w]
