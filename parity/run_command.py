"""``mfv parity run``: the arguments of ``mfv visualize`` plus ``--mode lockstep|free``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from parity.report import write_report
from parity.run_report import render
from parity.runs import RunSetup, run_parity
from parity.stack_args import add_stack_args, stack_from_args
from parity.tolerances import Tolerances
from port.confine import name_of_layer
from port.imaging import load_rgb, random_start
from port.mfv.command import add_model_args, checked_config, net_from_args, ops_from_args, weights_file
from port.outputs import add_force_arg, check_output


def add_run_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="levels 4-5: the MFV loop in lockstep or as free runs on both stacks")
    add_model_args(parser)
    parser.add_argument("--mode", choices=("lockstep", "free"), default="lockstep")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="free mode: skip the legacy run with the other BLAS thread count (the noise floor)",
    )
    add_stack_args(parser, threads=(1, 2))
    parser.add_argument("--tolerances", type=Path, help="tolerance table JSON (default: parity/tolerances.json)")
    parser.add_argument("--out", type=Path, help="report directory (default reports/run-<mode>-<time>)")
    add_force_arg(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    out = check_output(
        args.out or Path("reports") / f"run-{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}", force=args.force
    )
    net, prototxt = net_from_args(args)
    config = checked_config(net, args)
    tol = Tolerances.load(args.tolerances) if args.tolerances else Tolerances.load()
    start = None if args.start is None else load_rgb(args.start)
    with tempfile.TemporaryDirectory(prefix="mfv-parity-run-") as tmp:
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
    shown = {"start": start if start is not None else random_start(args.seed, start_shape(net)), **images}
    path = write_report(
        out,
        report,
        render(report, shown),
        {k.replace(" ", "_").replace(",", ""): v for k, v in images.items()},
        force=args.force,
    )
    print(report["verdict"]["summary"])
    print(f"report: {path}")
    return 0 if report["verdict"]["pass"] else 1


def start_shape(net) -> tuple[int, int]:
    return tuple(next(iter(net.inputs.values()))[2:])
