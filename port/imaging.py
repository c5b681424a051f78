"""Images in and out of a network's input convention (docs/legacy-spec.md, sections 2 and 6).

A convention (:class:`InputConvention`) says how an RGB image of pixels on
0..255 becomes a network's input: channel order, value scale, a mean and a
standard deviation per channel.  Caffe nets of the MFV paper (``CAFFE``)
take BGR on 0..255 minus a per-channel mean, std 1; torchvision nets
(``TORCHVISION``) take RGB on 0..1 minus ImageNet's mean, divided by its std.

Every image mfv reads (``--start``, ``--image``, a facets folder's images)
becomes 8-bit RGB by one rule, :func:`to_rgb8`: PIL's conversion, except
that 16-bit greyscale (PIL modes ``I;16*`` and ``I``, as 16-bit PNGs open)
is scaled by 1/257 to 0..255 and rounded, rather than clipped at 255 as
PIL's own conversion does (which turns almost every pixel white).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

CAFFE_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
PIXEL_MAX = 255.0
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def to_rgb8(img: Image.Image) -> Image.Image:
    """``img`` as 8-bit RGB by the module's rule (16-bit greyscale scaled by 1/257, not clipped)."""
    if img.mode in SIXTEEN_BIT_MODES:
        grey = np.rint(np.clip(np.asarray(img, dtype=np.float64), 0, 65535) / 257.0).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return img.convert("RGB")


def load_rgb(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """An image file as float32 RGB ``(H, W, 3)`` on 0..255 (any mode, by :func:`to_rgb8`).

    With ``size=(height, width)`` the image is resized with PIL's bilinear
    filter when it does not already have that size.
    """
    try:
        with Image.open(path) as img:
            rgb = to_rgb8(img)
    except FileNotFoundError:
        raise FileNotFoundError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from None
    return resize_rgb8(np.asarray(rgb, dtype=np.uint8), size).astype(np.float32)


def resize_rgb8(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` resized to ``size = (height, width)`` with PIL's bilinear filter
    (8-bit fixed-point arithmetic, so the bytes depend on the Pillow version alone); unchanged
    when ``size`` is None or already its size."""
    if size is None or rgb.shape[:2] == tuple(size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), Image.BILINEAR), dtype=np.uint8)


@dataclass(frozen=True)
class InputConvention:
    """How pixels p (RGB, 0..255) become a network's input x, per channel c of the network's order:

    ``x_c = (p_c * scale / 255 - mean_c) / std_c``, channels reversed when ``order`` is ``"BGR"``;
    ``mean`` and ``std`` are in the network's order and value scale.  With
    ``scale = 255`` and ``std = 1`` (Caffe) the multiplication and division
    by 1 are exact in IEEE arithmetic, so every conversion below is bit for
    bit Caffe's ``x = p[::-1] - mean``.
    """

    order: str
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.order not in ("RGB", "BGR"):
            raise ValueError(f"colour order {self.order!r}: RGB or BGR")
        if self.scale <= 0 or min(self.std) <= 0:
            raise ValueError(f"scale {self.scale} and std {self.std} must be positive")

    def __str__(self) -> str:
        mean = ", ".join(f"{v:g}" for v in self.mean)
        std = ", ".join(f"{v:g}" for v in self.std)
        return f"{self.order} on 0..{self.scale:g}, mean ({mean}), std ({std})"

    @property
    def gain(self) -> np.ndarray:
        """dx_c / dp_c = scale / (255 std_c), float32 (3,): how far the input moves per grey level."""
        return (np.float32(self.scale / PIXEL_MAX) / self._std).astype(np.float32)

    @property
    def _mean(self) -> np.ndarray:
        return np.asarray(self.mean, dtype=np.float32)

    @property
    def _std(self) -> np.ndarray:
        return np.asarray(self.std, dtype=np.float32)

    @property
    def _per_level(self) -> np.float32:
        return np.float32(self.scale / PIXEL_MAX)

    def _flip(self) -> bool:
        return self.order == "BGR"

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) RGB pixels -> (3, H, W) float32 input: ``(float32(p) * scale/255 - mean) / std``."""
        ordered = rgb[:, :, ::-1] if self._flip() else rgb
        pixels = np.ascontiguousarray(ordered.transpose(2, 0, 1), dtype=np.float32)
        return (pixels * self._per_level - self._mean[:, None, None]) / self._std[:, None, None]

    def deprocess(self, x: np.ndarray) -> np.ndarray:
        """(3, H, W) input -> (H, W, 3) RGB pixels: ``(x * std + mean) / (scale/255)``, in x's dtype."""
        pixels = (x * self._std[:, None, None] + self._mean[:, None, None]) / self._per_level
        return (pixels[::-1] if self._flip() else pixels).transpose(1, 2, 0)

    def _tensor(self, values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(values).to(like.device).view(1, 3, 1, 1)

    def to_rgb64(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float32 input -> (N, H, W, 3) float64 RGB pixels (:meth:`deprocess`, batched)."""
        pixels = (x * self._tensor(self._std, x) + self._tensor(self._mean, x)) / float(self._per_level)
        return (pixels.flip(1) if self._flip() else pixels).permute(0, 2, 3, 1).double()

    def from_rgb64(self, rgb: torch.Tensor) -> torch.Tensor:
        """(N, H, W, 3) float64 RGB pixels -> (N, 3, H, W) float32 input (:meth:`preprocess`, batched)."""
        ordered = rgb.flip(3) if self._flip() else rgb
        pixels = ordered.permute(0, 3, 1, 2).float().contiguous()
        return (pixels * float(self._per_level) - self._tensor(self._mean, pixels)) / self._tensor(self._std, pixels)

    def bounds(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The input values of pixels 0 and 255, (1, 3, 1, 1) each: ``-mean / std`` and ``(scale - mean) / std``."""
        std = self._tensor(self._std, like)
        return -self._tensor(self._mean, like) / std, (float(self.scale) - self._tensor(self._mean, like)) / std

    def pixel_gain(self, like: torch.Tensor) -> torch.Tensor:
        """:attr:`gain` as a (1, 3, 1, 1) tensor on ``like``'s device."""
        return self._tensor(self.gain, like)


CAFFE = InputConvention("BGR", PIXEL_MAX, tuple(float(v) for v in CAFFE_MEAN_BGR), (1.0, 1.0, 1.0))
TORCHVISION = InputConvention("RGB", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def preprocess(rgb: np.ndarray, convention: InputConvention = CAFFE) -> np.ndarray:
    """``convention.preprocess(rgb)``; Caffe's ``float32(CHW BGR) - mean`` by default (docs/legacy-spec.md)."""
    return convention.preprocess(rgb)


def deprocess(x: np.ndarray, convention: InputConvention = CAFFE) -> np.ndarray:
    """``convention.deprocess(x)``; Caffe's ``HxWx3 RGB of (x + mean)`` by default (docs/legacy-spec.md)."""
    return convention.deprocess(x)


def random_start(rng: int | np.random.RandomState, size: tuple[int, int] = (227, 227)) -> np.ndarray:
    """The legacy loop's random start image: ``normal(175, 8, (H, W, 3))``, float64.

    The first draw after seeding (an int ``rng`` is a seed), so the stream
    that follows is the loop's.
    """
    if not isinstance(rng, np.random.RandomState):
        rng = np.random.RandomState(rng)
    return rng.normal(175.0, 8.0, (*size, 3))
