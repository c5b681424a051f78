"""``mfv parity run``: the arguments of ``mfv visualize`` plus ``--mode lockstep|free``; levels 4-5 as a report."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mfv_cli.model_options import add_model_options, ops_from_args, run_setup_from_args
from mfv_cli.options import add_parity_options, add_quiet_option, stack_from_args, tolerances_from_args
from mfv_cli.reports import announce, report_dir
from parity.comparisons.mfv import run_parity
from parity.reports import write_report
from parity.reports.runs import render
from port.caffe import CaffeNetwork
from port.imaging import random_start


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="levels 4-5: the MFV loop in lockstep or as free runs on both stacks")
    add_model_options(parser)
    parser.add_argument("--mode", choices=("lockstep", "free"), default="lockstep")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="free mode: skip the legacy runs with the other BLAS thread count and the other OpenBLAS kernel "
        "(the noise floor)",
    )
    add_parity_options(parser, "run-<mode>", threads=(1, 2))
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, f"run-{args.mode}")
    tol = tolerances_from_args(args)
    with tempfile.TemporaryDirectory(prefix="mfv-parity-run-") as tmp:
        setup = run_setup_from_args(args, Path(tmp))
        report, images = run_parity(
            setup,
            stack_from_args(args),
            mode=args.mode,
            threads=args.threads,
            floor=args.floor,
            ops=ops_from_args(args),
            tol=tol,
            progress=not args.quiet,
        )
    start = setup.start if setup.start is not None else random_start(args.seed, start_shape(setup.net))
    shown = {"start": start, **images}
    path = write_report(
        out,
        report,
        render(report, shown),
        {k.replace(" ", "_").replace(",", ""): v for k, v in images.items()},
        force=args.force,
    )
    return announce(report, path)


def start_shape(net: CaffeNetwork) -> tuple[int, int]:
    return tuple(next(iter(net.inputs.values()))[2:])
