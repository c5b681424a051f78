"""``mfv parity env``: the py27 stack against the bullseye stack (layers, zoom and Bregman, free runs), as a report."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mfv_cli.model_options import add_model_options, checked_config, net_from_args, weights_file
from mfv_cli.options import add_parity_options, tolerances_from_args
from mfv_cli.reports import announce, report_dir
from parity.env_parity import run_env_parity
from parity.env_report import render
from parity.report import write_report
from parity.runs import RunSetup
from parity.stacks import get_stack
from port.confine import name_of_layer
from port.imaging import load_rgb


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "env", help="does the 2016 environment matter? the py27 stack against the bullseye stack, same inputs"
    )
    add_model_options(parser)
    add_parity_options(parser, "env", threads=(1, 2))
    parser.add_argument("--py27", default="py27", help="the Python 2.7 stack (default py27)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, "env")
    net, prototxt = net_from_args(args)
    config = checked_config(net, args)
    stacks = [get_stack(name, timeout=args.timeout, blas_core=args.blas_core) for name in (args.py27, args.stack)]
    with tempfile.TemporaryDirectory(prefix="mfv-parity-env-") as tmp:
        start = None if args.start is None else load_rgb(args.start)
        setup = RunSetup(
            net,
            prototxt,
            weights_file(net, prototxt, args, Path(tmp)),
            config,
            args.seed,
            args.start,
            start,
            name_of_layer(config.target.layer),
        )
        report, images = run_env_parity(setup, *stacks, threads=args.threads, tol=tolerances_from_args(args))
    arrays = {name.replace(" ", "_").replace("(", "").replace(")", ""): image for name, image in images.items()}
    return announce(report, write_report(out, report, render(report, images), arrays, force=args.force))
