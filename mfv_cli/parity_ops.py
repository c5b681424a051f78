"""``mfv parity ops``: level 3, the port's zoom and TV kernels against scipy / scikit-image, as a report."""

from __future__ import annotations

import argparse

from mfv_cli.options import add_parity_options, stack_from_args, tolerances_from_args
from mfv_cli.reports import announce, report_dir
from mfv_cli.validation import positive_int, seed_number
from parity.comparisons.ops import TV_WEIGHTS, run_ops_parity
from parity.reports import write_report
from parity.reports.ops import render


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ops", help="level 3: port zoom / TV Bregman vs scipy and scikit-image, modern and legacy")
    add_parity_options(parser, "ops")
    parser.add_argument("--seed", type=seed_number, default=0, help="seed of the test arrays")
    parser.add_argument("--size", type=positive_int, default=227, help="image side (default 227, MFV's crop)")
    parser.add_argument(
        "--weights",
        type=float,
        nargs="+",
        default=list(TV_WEIGHTS),
        help=f"TV Bregman weights (default {' '.join(map(str, TV_WEIGHTS))})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run level 3 and write its report; 0 if every case is within tolerance, else 1."""
    out = report_dir(args, "ops")
    report = run_ops_parity(
        stack_from_args(args),
        seed=args.seed,
        size=args.size,
        weights=tuple(args.weights),
        threads=args.threads,
        tolerances=tolerances_from_args(args),
    )
    return announce(report, write_report(out, report, render(report), force=args.force))
