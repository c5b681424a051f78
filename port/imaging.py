"""Images in and out of Caffe's input convention (docs/legacy-spec.md, section 2).

Caffe nets of the MFV paper take BGR images on a 0..255 scale minus a
per-channel mean, channels first, with no division by a standard deviation.

Every image mfv reads (``--start``, ``--image``, a facets folder's images)
becomes 8-bit RGB by one rule, :func:`to_rgb8`: PIL's conversion, except
that 16-bit greyscale (PIL modes ``I;16*`` and ``I``, as 16-bit PNGs open)
is scaled by 1/257 to 0..255 and rounded, rather than clipped at 255 as
PIL's own conversion does (which turns almost every pixel white).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

CAFFE_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
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
    if size is not None and rgb.size != (size[1], size[0]):
        rgb = rgb.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.float32)


def preprocess(rgb: np.ndarray, mean_bgr: np.ndarray = CAFFE_MEAN_BGR) -> np.ndarray:
    """``float32(CHW, channels reversed to BGR) - mean``: ``preprocess`` of docs/legacy-spec.md."""
    return np.ascontiguousarray(rgb[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) - mean_bgr[:, None, None]


def deprocess(x: np.ndarray, mean_bgr: np.ndarray = CAFFE_MEAN_BGR) -> np.ndarray:
    """``HxWx3 RGB of (x + mean)``: ``deprocess`` (docs/legacy-spec.md) of a CHW BGR array."""
    return (x + mean_bgr[:, None, None])[::-1].transpose(1, 2, 0)


def random_start(rng: int | np.random.RandomState, size: tuple[int, int] = (227, 227)) -> np.ndarray:
    """The legacy loop's random start image: ``normal(175, 8, (H, W, 3))``, float64.

    The first draw after seeding (an int ``rng`` is a seed), so the stream
    that follows is the loop's.
    """
    if not isinstance(rng, np.random.RandomState):
        rng = np.random.RandomState(rng)
    return rng.normal(175.0, 8.0, (*size, 3))
