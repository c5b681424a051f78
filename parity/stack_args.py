"""The command-line options that pick a legacy stack, its BLAS threads and its job timeout."""

from __future__ import annotations

import argparse

from parity.stacks import DEFAULT_TIMEOUT, LegacyStack, get_stack
from port.validation import positive_int, seconds

STACK_HELP = (
    "legacy stack: 'chroot' (Debian bullseye root, see `mfv legacy setup`) "
    "or 'local:/path/to/python' (an interpreter where `import caffe` works)"
)


def add_stack_args(
    parser: argparse.ArgumentParser,
    *,
    default: str | None = "chroot",
    help: str = STACK_HELP,
    threads: tuple[int, ...] | None = None,
) -> None:
    """Add ``--stack``, ``--threads`` (any positive count, or one of ``threads``) and ``--timeout``."""
    parser.add_argument("--stack", default=default, help=help)
    parser.add_argument(
        "--threads", type=positive_int, default=1, choices=threads, help="BLAS threads of the legacy stack (default 1)"
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"the most one legacy job (or one answer of a lockstep worker) may take; past it the job's "
        f"processes are killed (default {DEFAULT_TIMEOUT:g})",
    )


def stack_from_args(args: argparse.Namespace) -> LegacyStack:
    """The stack ``--stack`` names, with ``--timeout``."""
    return get_stack(args.stack, timeout=args.timeout)
