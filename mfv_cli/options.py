"""The options several ``mfv`` subcommands share, each defined here once, and the report folders' names.

Imports stay light (no torch) so that building the parser is fast; what an
option builds is imported when a command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from mfv_cli.reports import REPORTS
from mfv_cli.validation import positive_int, seconds
from parity.judges.tolerances import Tolerances
from parity.stacks import DEFAULT_BLAS_CORE, DEFAULT_TIMEOUT, FALLBACK_BLAS_CORE, LegacyStack, get_stack

if TYPE_CHECKING:
    import torch

STACK_HELP = (
    "legacy stack: 'chroot' (Debian bullseye root, see `mfv legacy setup`), 'py27' (Python 2.7 root with the "
    "thesis's pins, see `mfv legacy setup --stack py27`), 'local:/path/to/python' (an interpreter where "
    "`import caffe` works), 'docker-bullseye' or 'docker-py27' (the images docker/legacy-bullseye and "
    "docker/legacy-py27, see `mfv docker setup`)"
)


def command_parser(sub: argparse._SubParsersAction, name: str, help: str, doc: str | None) -> argparse.ArgumentParser:
    """A subcommand's parser whose description is its module's docstring ``doc``, shown as written."""
    return sub.add_parser(name, help=help, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_stack_options(
    parser: argparse.ArgumentParser, *, default: str | None = "chroot", threads: tuple[int, ...] | None = None
) -> None:
    """Add ``--stack``, ``--threads`` (any positive count, or one of ``threads``), ``--blas-core`` and ``--timeout``.

    Without a ``default`` the command runs the port unless ``--stack`` names a stack for the pycaffe reference.
    """
    stack_help = STACK_HELP + (
        f" (default {default})" if default else "; given, the pycaffe reference runs there instead of the port"
    )
    parser.add_argument("--stack", default=default, help=stack_help)
    parser.add_argument(
        "--threads", type=positive_int, default=1, choices=threads, help="BLAS threads of the legacy stack (default 1)"
    )
    parser.add_argument(
        "--blas-core",
        metavar="KERNEL",
        help=f"OpenBLAS kernel of the legacy stack (OPENBLAS_CORETYPE; default {DEFAULT_BLAS_CORE} where the CPU "
        f"has AVX2 and FMA, else {FALLBACK_BLAS_CORE}); recorded in every manifest",
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
    """The stack ``--stack`` names, with ``--timeout`` and ``--blas-core``."""
    return get_stack(args.stack, timeout=args.timeout, blas_core=args.blas_core)


def add_output_options(parser: argparse.ArgumentParser, *, help: str, required: bool = False) -> None:
    """Add ``--out`` (with ``help``) and ``--force``: replace what the output rule (``port.outputs``) refuses."""
    parser.add_argument("--out", type=Path, required=required, help=help)
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace what is at --out even if it is not empty and not an mfv output (its files are removed)",
    )


def add_report_options(parser: argparse.ArgumentParser, prefix: str) -> None:
    """``--out`` of a command that writes a report folder, by default a timestamped one
    (:func:`mfv_cli.reports.report_dir`)."""
    add_output_options(parser, help=f"report directory (default {REPORTS}/{prefix}-<time>)")


def add_parity_options(
    parser: argparse.ArgumentParser, report_prefix: str, *, threads: tuple[int, ...] | None = None
) -> None:
    """What every ``mfv parity`` command takes: the legacy stack, ``--tolerances`` and its report folder."""
    add_stack_options(parser, threads=threads)
    parser.add_argument("--tolerances", type=Path, help="tolerance table JSON (default: parity/judges/tolerances.json)")
    add_report_options(parser, report_prefix)


def tolerances_from_args(args: argparse.Namespace) -> Tolerances:
    return Tolerances.load(args.tolerances) if args.tolerances else Tolerances.load()


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="where the port runs: cpu, cuda, cuda:N, or auto (default: cuda when present, else cpu)",
    )


def device_from_args(args: argparse.Namespace) -> torch.device:
    """--device as a torch device; ``auto`` is CUDA when present."""
    import torch

    if args.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise ValueError(f"--device {args.device!r}: not a device (cpu, cuda, cuda:N or auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: no CUDA device on this machine")
    return device
