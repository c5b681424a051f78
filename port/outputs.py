"""The output rule: what ``--out`` may be, checked before any work starts.

Every command that writes a folder writes it whole, atomically, with a
marker file ``mfv-output.json`` in it.  ``--out`` must then be

* absent (it is created, parents included),
* an empty folder, or
* a folder this tool wrote before (it holds the marker), which is replaced;

anything else - a folder with other files, a plain file, a symbolic link -
is refused with :class:`OutputError` unless ``force`` is given, and nothing
is ever removed to make room without it.  A command that writes one file
(``mfv make-weights``) refuses an existing file the same way.

The destination's folder must be writable; :func:`check_output` tries it
(by making and removing an empty folder there), so an unwritable ``--out``
fails at once, not after the computation.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from port.atomic import atomic_directory

MARKER = "mfv-output.json"
FORMAT = "mfv-output/1"
FORCE_HINT = "give another path, or --force to replace it"


class OutputError(ValueError):
    """An output path the output rule refuses (the message names the flag and the path)."""


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute and normalised (``.`` and ``..`` resolved in the text, links kept)."""
    return Path(os.path.abspath(path))


def written_by_mfv(folder: Path) -> bool:
    """Whether ``folder`` is an output folder of this tool (it holds the marker)."""
    return (folder / MARKER).is_file()


def _refusal(path: Path, flag: str) -> str | None:
    """Why the rule refuses to replace what is at ``path``, or None when it may."""
    if path.is_symlink():
        return f"{flag} {path}: is a symbolic link; {FORCE_HINT}"
    if not path.exists():
        return None
    if not path.is_dir():
        return f"{flag} {path}: is a file, not a folder mfv wrote; {FORCE_HINT}"
    entries = sorted(entry.name for entry in path.iterdir())
    if entries and not written_by_mfv(path):
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        return f"{flag} {path}: a folder with files mfv did not write ({shown}); {FORCE_HINT}"
    return None


def _check_writable(path: Path, flag: str) -> None:
    """Refuse ``path`` unless its nearest existing ancestor is a folder in which a folder can be made."""
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{flag} {path}: {ancestor} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".mfv-probe-", dir=ancestor))
    except OSError as exc:
        raise OutputError(f"{flag} {path}: cannot write in {ancestor} ({exc.strerror})") from None


def check_output(path: str | Path, *, force: bool = False, flag: str = "--out") -> Path:
    """Apply the output rule to folder ``path`` and return it absolute; raise :class:`OutputError` if refused."""
    absolute = _absolute(path)
    if absolute == absolute.parent:
        raise OutputError(f"{flag} {path}: the file system's root cannot be an output folder")
    refusal = _refusal(absolute, flag)
    if refusal is not None and not force:
        raise OutputError(refusal)
    _check_writable(absolute, flag)
    return absolute


def check_output_file(path: str | Path, *, force: bool = False, flag: str = "--out") -> Path:
    """The rule for a one-file output: ``path`` must not exist (unless ``force``) and its folder be writable."""
    absolute = _absolute(path)
    if (absolute.exists() or absolute.is_symlink()) and not force:
        kind = "a folder" if absolute.is_dir() else "a file"
        raise OutputError(f"{flag} {path}: {kind} is already there; {FORCE_HINT}")
    if absolute.is_dir():
        raise OutputError(f"{flag} {path}: is a folder; name a file")
    _check_writable(absolute, flag)
    return absolute


@contextlib.contextmanager
def output_directory(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Check ``path`` by the output rule, then yield a fresh folder that replaces it whole on success.

    The folder gets the marker; on any exception or signal it is removed and
    ``path`` is left as it was.
    """
    absolute = check_output(path, force=force)
    with atomic_directory(absolute) as partial:
        (partial / MARKER).write_text(json.dumps({"format": FORMAT}) + "\n")
        yield partial
