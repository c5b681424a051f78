"""``mfv make-weights``: deterministic random weights for a prototxt, written as a caffemodel."""

from __future__ import annotations

import argparse
from pathlib import Path

from mfv_cli.options import add_output_options
from mfv_cli.validation import seed_number
from port.caffe import fill_random, load_net, save_caffemodel
from port.outputs import check_output_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("make-weights", help="write deterministic random weights for a prototxt")
    parser.add_argument("--prototxt", type=Path, required=True)
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument("--format", choices=("v2", "v1"), default="v2", help="caffemodel layout (default v2)")
    add_output_options(parser, required=True, help="the caffemodel to write (refused if one exists)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out, force=args.force)
    save_caffemodel(fill_random(load_net(args.prototxt), args.seed), args.prototxt, args.out, version=args.format)
    print(f"wrote {args.out}: deterministic random weights (seed {args.seed}), not pretrained")
    return 0
