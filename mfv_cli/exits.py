"""The exit-code contract of every ``mfv`` command, kept by one top-level handler.

====  ==========================================================================
0     success (for parity commands: every figure within tolerance)
1     parity outside tolerance
2     bad input or a broken legacy stack: one line ``mfv: error: ...`` naming
      the file, flag or layer (argparse's own usage errors are 2 as well)
3     a bug in mfv: the traceback, and a request to report it
130   interrupted (SIGINT); 143: terminated (SIGTERM).  Either way legacy jobs
      are killed, their folders removed and no partial output is left.
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import traceback
from collections.abc import Callable, Iterator

from parity.stacks import LegacyStackError

EXIT_OK, EXIT_PARITY_FAILED, EXIT_BAD_INPUT, EXIT_BUG = 0, 1, 2, 3
EXPECTED_ERRORS = (ValueError, OSError, LegacyStackError)  # bad input or a broken stack (exit 2), not a bug
REPORT_HINT = "mfv: this is a bug in mfv; please report it with the traceback above and the command line"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that cleanups run as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block SIGTERM raises :class:`Terminated` (in the main thread), like SIGINT's KeyboardInterrupt."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def describe(error: BaseException) -> str:
    """The message of an expected error; an ``OSError`` as ``<file>: <what>``."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler and map what it raises onto the contract (see the module docstring)."""
    try:
        with sigterm_raises():
            return handler(args)
    except KeyboardInterrupt as interrupt:
        signum = interrupt.signum if isinstance(interrupt, Terminated) else signal.SIGINT
        print(f"mfv: stopped by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except EXPECTED_ERRORS as error:
        print(f"mfv: error: {describe(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        traceback.print_exc()
        print(REPORT_HINT, file=sys.stderr)
        return EXIT_BUG
