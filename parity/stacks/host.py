"""What every part of the harness that runs host programs shares: a clean ``PATH``, finding
system executables, output tails and the error that says a legacy stack cannot be used."""

from __future__ import annotations

import os
import shutil

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OUTPUT_TAIL_LINES = 40


class LegacyStackError(RuntimeError):
    """The legacy stack is missing, not provisioned or cannot be used here."""


def system_tool(name: str) -> str | None:
    """Find an executable on ``PATH`` or in the system folders (``chroot`` lives in sbin)."""
    search = os.pathsep.join(filter(None, (os.environ.get("PATH"), CLEAN_PATH)))
    return shutil.which(name, path=search)


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])
