"""The edge extension of scikit-image's split-Bregman denoiser: the image framed by fixed ghost cells."""

from __future__ import annotations

import torch


def frame(f: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(..., H, W) -> (..., H+2, W+2), as ``_denoise_tv_bregman`` frames its iterate.

    Row -1 repeats row 1 and column -1 column 1 (reflection); row H repeats
    row H-1 and column W column W-1 (edge).  The four corners, which the
    4-neighbour stencil never reads, are 0.  ``out`` (any strides), if
    given, receives all of it but the corners and is returned.
    """
    h, w = f.shape[-2:]
    framed = f.new_zeros(f.shape[:-2] + (h + 2, w + 2)) if out is None else out
    framed[..., 1:-1, 1:-1] = f
    framed[..., 0, 1:-1] = f[..., 1, :]
    framed[..., 1:-1, 0] = f[..., :, 1]
    framed[..., -1, 1:-1] = f[..., h - 1, :]
    framed[..., 1:-1, -1] = f[..., :, w - 1]
    return framed
