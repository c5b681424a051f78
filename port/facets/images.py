"""The image folder of a facets run: which files it holds, and each file as the network sees it.

Resize rule: every image is converted to 8-bit RGB and resized, whole, to
the network's input size (227 x 227 for CaffeNet) with PIL's bilinear filter
- no centre crop, no aspect-preserving padding.  That is what the 2016 code
did: ``scipy.misc.imresize(img, (227, 227))`` resizes the whole uint8 image
with PIL's bilinear filter, so a facet's mean image is an average of the
pictures exactly as the network saw them, distortion included.

Mode rules: greyscale is repeated into three channels, palette images are
expanded, CMYK and YCbCr go through PIL's conversion, and an alpha channel is
dropped (``caffe.io.load_image`` kept the first three channels too).  16-bit
greyscale is scaled by 1/257 to 8 bits rather than clipped, as everywhere in
mfv (``port.imaging.to_rgb8``).  EXIF orientation is not applied: pixels are
taken as stored, as the original pipeline took them.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from port.imaging import resize_rgb8, to_rgb8

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)


class UnreadableImageError(ValueError):
    """A file in the image folder that is not a decodable JPEG or PNG."""


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of a run, and why."""

    path: Path
    reason: str


def list_images(image_dir: str | Path) -> list[Path]:
    """The JPEG and PNG files directly in ``image_dir``, sorted by name.

    Files count by suffix (``.jpg``, ``.jpeg``, ``.png``, any case); hidden
    files and sub-folders are not looked at.  A missing folder, a path that
    is not a folder, or a folder without such files is an error naming it.
    """
    folder = Path(image_dir)
    if not folder.exists():
        raise FileNotFoundError(f"--images {folder}: no such folder")
    if not folder.is_dir():
        raise ValueError(f"--images {folder}: not a folder")
    paths = sorted(
        (
            p
            for p in folder.iterdir()
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )
    if not paths:
        raise ValueError(f"--images {folder}: no JPEG or PNG files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths


def read_rgb(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """The file at ``path`` as uint8 RGB ``(height, width, 3)`` resized to ``size = (height, width)``.

    See the module docstring for the resize and mode rules.  A file that
    cannot be decoded raises ``UnreadableImageError`` naming it.
    """
    try:
        with Image.open(path) as img:
            rgb = to_rgb8(img)
    except DECODE_ERRORS as exc:
        raise UnreadableImageError(f"{path}: not a readable JPEG or PNG ({type(exc).__name__}: {exc})") from None
    return resize_rgb8(np.asarray(rgb, dtype=np.uint8), size)
