"""``mfv parity layers``: levels 0-2 (environments, weights, every blob forward, every diff backward) as a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from mfv_cli.options import add_parity_options, stack_from_args, tolerances_from_args
from mfv_cli.reports import announce, report_dir
from mfv_cli.validation import seed_number
from parity.comparisons.layers import run_layers_parity
from parity.reports import write_report
from parity.reports.layers import render
from parity.stacks import get_stack
from port.caffe import Target
from port.onnx import DEFAULT_OPSET, MIN_OPSET

ONNX_STACK = "onnx"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "layers",
        help="levels 0-2: weights, every blob forward, every diff backward "
        f"(--stack {ONNX_STACK}: the ONNX export on onnxruntime, forward, against Caffe and the port)",
    )
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
    parser.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        help=f"ONNX opset of the export with --stack {ONNX_STACK} (default {DEFAULT_OPSET}, at least {MIN_OPSET})",
    )
    add_parity_options(parser, "layers")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, "layers")
    if args.stack == ONNX_STACK:
        return run_onnx(args, out)
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


def run_onnx(args: argparse.Namespace, out: Path) -> int:
    """``--stack onnx``: the ONNX export on onnxruntime against Caffe (the default legacy stack) and the port."""
    from parity.comparisons.onnx_layers import run_onnx_parity

    if args.target:
        raise ValueError(f"--target needs gradients, which --stack {ONNX_STACK} does not compute")
    report = run_onnx_parity(
        args.prototxt,
        args.weights,
        get_stack(timeout=args.timeout),
        image=args.image,
        seed=args.seed,
        threads=args.threads,
        opset=args.opset,
        tolerances=tolerances_from_args(args),
    )
    return announce(report, write_report(out, report, render(report), force=args.force))
