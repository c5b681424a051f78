"""``mfv parity layers``: levels 0-2 (environments, weights, every blob forward, every diff backward) as a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from mfv_cli.options import add_parity_options, stack_from_args, tolerances_from_args
from mfv_cli.reports import announce, report_dir
from mfv_cli.validation import seed_number
from parity.layers import run_layers_parity
from parity.layers_report import render
from parity.report import write_report
from port.caffe import Target


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("layers", help="levels 0-2: weights, every blob forward, every diff backward")
    parser.add_argument("--prototxt", type=Path, required=True)
    parser.add_argument("--weights", type=Path, required=True, help=".caffemodel (V1 or V2)")
    parser.add_argument("--image", type=Path, help="input image (default: the legacy random start from --seed)")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="LAYER:UNIT[:Y:X]",
        help="one-hot backward target (repeatable; default: last two fc layers, last conv centre)",
    )
    parser.add_argument("--seed", type=seed_number, default=0)
    add_parity_options(parser, "layers")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, "layers")
    report = run_layers_parity(
        args.prototxt,
        args.weights,
        stack_from_args(args),
        threads=args.threads,
        seed=args.seed,
        tolerances=tolerances_from_args(args),
        image=args.image,
        targets=[Target.parse(t) for t in args.target] or None,
    )
    return announce(report, write_report(out, report, render(report), force=args.force))
