"""``mfv parity env``: the py27 stack against the bullseye stack (layers, ops, lockstep, free runs), as a report."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mfv_cli.model_options import add_model_options, run_setup_from_args
from mfv_cli.options import add_parity_options, add_quiet_option, tolerances_from_args
from mfv_cli.reports import announce, report_dir
from parity.comparisons.env import run_env_parity
from parity.reports import write_report
from parity.reports.env import render
from parity.stacks import get_stack


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "env", help="does the 2016 environment matter? the py27 stack against the bullseye stack, same inputs"
    )
    add_model_options(parser)
    add_parity_options(parser, "env", threads=(1, 2))
    parser.add_argument("--py27", default="py27", help="the Python 2.7 stack (default py27)")
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, "env")
    stacks = [get_stack(name, timeout=args.timeout, blas_core=args.blas_core) for name in (args.py27, args.stack)]
    with tempfile.TemporaryDirectory(prefix="mfv-parity-env-") as tmp:
        setup = run_setup_from_args(args, Path(tmp))
        report, images = run_env_parity(
            setup, *stacks, threads=args.threads, tol=tolerances_from_args(args), progress=not args.quiet
        )
    arrays = {name.replace(" ", "_").replace("(", "").replace(")", ""): image for name, image in images.items()}
    return announce(report, write_report(out, report, render(report, images), arrays, force=args.force))
