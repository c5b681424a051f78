"""``mfv demo``: layers, lockstep and free-run parity on the built-in default (``parity.demo``)."""

from __future__ import annotations

import argparse

from mfv_cli.exits import EXIT_OK, EXIT_PARITY_FAILED
from mfv_cli.options import add_report_options, add_stack_options, stack_from_args
from mfv_cli.reports import report_dir
from mfv_cli.validation import seed_number
from parity.demo import run_demo


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="layers, lockstep and free-run parity on the built-in default (CaffeNet with generated weights)"
    )
    add_report_options(parser, "demo")
    parser.add_argument("--seed", type=seed_number, default=0, help="seed of the generated weights")
    parser.add_argument("--quick", action="store_true", help="shorten the MFV schedule to a tenth")
    add_stack_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, "demo")
    passed, index = run_demo(
        out, stack_from_args(args), seed=args.seed, threads=args.threads, quick=args.quick, force=args.force
    )
    print(f"report: {index}")
    return EXIT_OK if passed else EXIT_PARITY_FAILED
