"""``mfv original``: run a published 2016 script unchanged on a legacy stack and keep what it produced."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mfv_cli.options import add_output_options, add_stack_options, stack_from_args
from mfv_cli.validation import non_negative_int, seed_number
from parity.comparisons.original import OriginalStep, run_original
from port.outputs import output_directory


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "original",
        help="run the original act_max.tvd.mean.py (or .center.py) unchanged on a legacy stack",
        description="Runs the published script byte for byte with the shell scripts' arguments; the job's "
        "prototxt and weights go into the settings.py it imports (gpu = False).  Writes the script's JPEG, "
        "its final float image (final.npy), what it printed (printed.txt), every step's (best unit, best "
        "activation, target activation) (steps.csv) and the job's manifest (manifest.json).",
    )
    add_stack_options(parser)
    parser.add_argument("--original", type=Path, required=True, help="a clone of the original MFV repository")
    parser.add_argument("--prototxt", type=Path, required=True, help="the deploy prototxt (force_backward: true)")
    parser.add_argument("--weights", type=Path, required=True, help="the caffemodel")
    parser.add_argument("--unit", type=non_negative_int, required=True, help="the fc8 unit to visualise")
    parser.add_argument("--start", type=Path, help="the start image (the mean script's mean.jpg)")
    parser.add_argument("--seed", type=seed_number, default=1, help="the script's seed argument (default 1)")
    parser.add_argument("--center", action="store_true", help="run act_max.tvd.center.py (no start image)")
    add_output_options(parser, required=True, help="the folder to write (refused if it holds other files)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.center and args.start is not None:
        raise ValueError("--start: the center-bias script starts from its random image; drop --start or --center")
    for path in (args.prototxt, args.weights, *([args.start] if args.start else [])):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
    result = run_original(
        stack_from_args(args),
        args.original,
        center=args.center,
        prototxt=args.prototxt,
        weights=args.weights,
        unit=args.unit,
        seed=args.seed,
        start=args.start,
        threads=args.threads,
        warn=lambda message: print(message, file=sys.stderr),
    )
    with output_directory(args.out, force=args.force) as partial:
        (partial / "printed.txt").write_text(result.printed)
        with (partial / "steps.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(OriginalStep.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(asdict(step) for step in result.steps)
        if result.image is not None:
            np.save(partial / "final.npy", result.image)
        if result.jpeg is not None:
            (partial / result.jpeg_name).write_bytes(result.jpeg)
        manifest = dict(result.manifest, script=result.script, sha1=result.sha1, published=result.published)
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    print(f"{result.script} on {args.stack}: {result.ended} after {len(result.steps)} steps; wrote {args.out}")
    return 0
