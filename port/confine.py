"""Names from the command line and paths from manifests, kept inside their folder.

An output name (``--name``) must be one plain file name: no folder
separator, not ``.`` or ``..``, no NUL, not hidden.  A path a manifest names
(a facets folder's ``mean_png``) must be relative and stay inside the
manifest's folder once links are followed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def plain_name(name: str, flag: str) -> str:
    """Return ``name`` if it is one plain file name, else raise ``ValueError`` naming ``flag``."""
    separators = {os.sep, os.altsep or os.sep}
    if not name or name in (".", "..") or name.startswith(".") or "\0" in name or separators & set(name):
        raise ValueError(f"{flag} {name!r}: must be a plain file name (no '/', not hidden, not '.' or '..')")
    return name


def name_of_layer(layer: str) -> str:
    """A plain file name made from a layer name: every character but letters, digits and ``_`` becomes ``_``."""
    return re.sub(r"\W", "_", layer)


def inside(folder: Path, relative: str, where: str) -> Path:
    """``folder / relative``, refused (``ValueError`` naming ``where``) unless it stays inside ``folder``."""
    if not isinstance(relative, str) or not relative or Path(relative).is_absolute():
        raise ValueError(f"{where}: {relative!r} is not a relative path inside {folder}")
    path = folder / relative
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"{where}: {relative!r} points outside {folder}")
    return path
