"""The two numerical operations of the MFV loop besides the net: zoom and TV denoising.

A backend maps

* ``zoom(images, scale)``: (N, 3, H, W) float32 -> (N, 3, H', W') float32,
  ``scipy.ndimage.zoom(image, (1, scale, scale))`` of each image (cubic
  spline, default ``constant`` mode, ``round(H * scale)`` output rows);
* ``denoise(images, weights)``: (N, H, W, 3) float64 RGB on 0..255 ->
  the same shape, ``skimage.restoration.denoise_tv_bregman(image,
  weight=w, max_num_iter=100, eps=1e-3, isotropic=True,
  channel_axis=None)`` of each image with its own weight (the three
  channels denoised jointly, as scikit-image did before 0.17).

``TorchOps``, the loop's default, runs the port's own kernels
(``port.ops.zoom``, ``port.ops.tv_bregman``) on the images' device, the
whole batch at once: on a CPU the denoiser is scikit-image's loop compiled
(bitwise equal in float64) with the batch's images as SIMD lanes, on
a GPU its exact FFT-solved form.  ``ReferenceOps`` calls scipy and
scikit-image themselves, one image at a time, on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.ndimage
import torch
from skimage.restoration import denoise_tv_bregman

from port.ops import tv_bregman, zoom
from port.ops.tv import all_finite

TV_MAX_ITER = 100
TV_EPS = 1e-3


class LoopOps(Protocol):
    name: str

    def zoom(self, images: torch.Tensor, scale: float) -> torch.Tensor: ...

    def denoise(self, images: torch.Tensor, weights: Sequence[float]) -> torch.Tensor: ...


class ReferenceOps:
    """scipy's zoom and scikit-image's split-Bregman denoiser, image by image."""

    name = "reference"

    def zoom(self, images: torch.Tensor, scale: float) -> torch.Tensor:
        zoomed = [scipy.ndimage.zoom(image, (1, scale, scale)) for image in images.cpu().numpy()]
        return torch.from_numpy(np.stack(zoomed)).to(images.device)

    def denoise(self, images: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
        denoised = [
            denoise_tv_bregman(
                image, weight=float(w), max_num_iter=TV_MAX_ITER, eps=TV_EPS, isotropic=True, channel_axis=None
            )
            for image, w in zip(images.cpu().numpy(), weights)
        ]
        return torch.from_numpy(np.stack(denoised)).to(images.device)


class TorchOps:
    """The port's kernels: batched, each image denoised with its own weight and stopping on its own.

    ``port.ops.tv_bregman`` refuses non-finite input; here, as in the legacy
    loop (where scikit-image passes NaN on), an image holding NaN or
    infinity is returned as it is, and the loop stops that run.
    """

    name = "torch"

    def zoom(self, images: torch.Tensor, scale: float) -> torch.Tensor:
        return zoom(images, scale)

    def denoise(self, images: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
        if all_finite(images):
            return self._denoise(images, weights)
        finite = torch.isfinite(images).flatten(1).all(dim=1)
        out = images.clone()
        keep = finite.nonzero().squeeze(1).tolist()
        if keep:
            out[keep] = self._denoise(images[keep], [weights[n] for n in keep])
        return out

    @staticmethod
    def _denoise(images: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
        return tv_bregman(images, list(weights), max_num_iter=TV_MAX_ITER, eps=TV_EPS, isotropic=True, batch=True)


OPS = {"reference": ReferenceOps, "torch": TorchOps}
DEFAULT_OPS = "torch"
