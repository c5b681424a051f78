"""The ``mfv`` command.

    mfv demo                      layers, lockstep and free-run parity on the built-in default
    mfv visualize ...             the MFV loop for one unit, port or pycaffe reference
    mfv facets ...                mean images (facets) of a folder of class images
    mfv parity run ...            parity levels 4-5: lockstep and free runs of the loop
    mfv legacy setup | info       provision / describe the legacy Caffe stack
    mfv parity layers ...         parity levels 0-2 for any prototxt + caffemodel
    mfv parity ops ...            parity level 3: the port's zoom and TV kernels vs scipy / scikit-image
    mfv make-weights ...          deterministic random weights for a prototxt

Exit status: 0 success, 1 parity outside tolerance, 2 bad input or a broken stack, 3 a bug in mfv
(please report it), 130 / 143 stopped by SIGINT / SIGTERM.  --out must be absent, empty or an earlier
mfv output; anything else is refused unless --force is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from parity.ops import add_ops_parser
from parity.run_command import add_run_parser
from parity.stack_args import add_stack_args, stack_from_args
from port.exits import run_handler
from port.facets import add_facets_parser, facets_command
from port.mfv.command import add_visualize_parser
from port.outputs import add_force_arg, check_output, check_output_file
from port.validation import seed_number

DEFAULT_REPORTS = Path("reports")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfv", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="layers, lockstep and free-run parity on the built-in default (CaffeNet with generated weights)"
    )
    demo.add_argument("--out", type=Path, help="report directory (default reports/demo-<time>)")
    add_force_arg(demo)
    demo.add_argument("--seed", type=seed_number, default=0, help="seed of the generated weights")
    demo.add_argument("--quick", action="store_true", help="shorten the MFV schedule to a tenth")
    add_stack_args(demo)
    demo.set_defaults(handler=_cmd_demo)

    legacy = sub.add_parser("legacy", help="the legacy Caffe stack").add_subparsers(
        dest="legacy_command", required=True
    )
    setup = legacy.add_parser("setup", help="build the Debian bullseye + Caffe root (needs root, once)")
    setup.add_argument("--root", type=Path, help="where to build it (default: the user's cache folder)")
    setup.add_argument("--mirror", help="Debian mirror URL (default $MFV_DEBIAN_MIRROR or deb.debian.org)")
    setup.add_argument("--force", action="store_true", help="rebuild even if a complete root exists")
    setup.set_defaults(handler=_cmd_legacy_setup)
    info = legacy.add_parser("info", help="print the legacy interpreter's manifest")
    add_stack_args(info)
    info.set_defaults(handler=_cmd_legacy_info)

    parity = sub.add_parser("parity", help="compare the port with the legacy stack").add_subparsers(
        dest="parity_command", required=True
    )
    layers = parity.add_parser("layers", help="levels 0-2: weights, every blob forward, every diff backward")
    layers.add_argument("--prototxt", type=Path, required=True)
    layers.add_argument("--weights", type=Path, required=True, help=".caffemodel (V1 or V2)")
    layers.add_argument("--image", type=Path, help="input image (default: the legacy random start from --seed)")
    layers.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="LAYER:UNIT[:Y:X]",
        help="one-hot backward target (repeatable; default: last two fc layers, last conv centre)",
    )
    layers.add_argument("--seed", type=seed_number, default=0)
    layers.add_argument("--tolerances", type=Path, help="tolerance table JSON (default: parity/tolerances.json)")
    layers.add_argument("--out", type=Path, help="report directory (default reports/layers-<time>)")
    add_force_arg(layers)
    add_stack_args(layers)
    layers.set_defaults(handler=_cmd_parity_layers)
    add_run_parser(parity)
    add_ops_parser(parity)
    add_visualize_parser(sub)
    add_facets_parser(sub).set_defaults(handler=facets_command)

    weights = sub.add_parser("make-weights", help="write deterministic random weights for a prototxt")
    weights.add_argument("--prototxt", type=Path, required=True)
    weights.add_argument("--seed", type=seed_number, default=0)
    weights.add_argument("--format", choices=("v2", "v1"), default="v2", help="caffemodel layout (default v2)")
    weights.add_argument("--out", type=Path, required=True, help="the caffemodel to write (refused if one exists)")
    add_force_arg(weights)
    weights.set_defaults(handler=_cmd_make_weights)
    return parser


def _run_dir(out: Path | None, prefix: str) -> Path:
    return out or DEFAULT_REPORTS / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def _cmd_parity_layers(args: argparse.Namespace) -> int:
    from parity.layers import run_layers_parity
    from parity.layers_report import render
    from parity.report import write_report
    from parity.tolerances import Tolerances
    from port.caffe import Target

    out = check_output(_run_dir(args.out, "layers"), force=args.force)
    tol = Tolerances.load(args.tolerances) if args.tolerances else Tolerances.load()
    report = run_layers_parity(
        args.prototxt,
        args.weights,
        stack_from_args(args),
        threads=args.threads,
        seed=args.seed,
        tolerances=tol,
        image=args.image,
        targets=[Target.parse(t) for t in args.target] or None,
    )
    path = write_report(out, report, render(report), force=args.force)
    print(report["verdict"]["summary"])
    print(f"report: {path}")
    return 0 if report["verdict"]["pass"] else 1


def _cmd_make_weights(args: argparse.Namespace) -> int:
    from port.caffe import fill_random, load_net, save_caffemodel

    check_output_file(args.out, force=args.force)
    save_caffemodel(fill_random(load_net(args.prototxt), args.seed), args.prototxt, args.out, version=args.format)
    print(f"wrote {args.out}: deterministic random weights (seed {args.seed}), not pretrained")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from parity.demo import run_demo

    out = check_output(_run_dir(args.out, "demo"), force=args.force)
    passed, index = run_demo(
        out, stack_from_args(args), seed=args.seed, threads=args.threads, quick=args.quick, force=args.force
    )
    print(f"report: {index}")
    return 0 if passed else 1


def _cmd_legacy_setup(args: argparse.Namespace) -> int:
    from parity.provision import setup_chroot

    print(f"legacy stack ready: {setup_chroot(args.root, mirror=args.mirror, force=args.force)}")
    return 0


def _cmd_legacy_info(args: argparse.Namespace) -> int:
    import json

    from parity.provision import environment

    print(json.dumps(environment(stack_from_args(args), threads=args.threads), indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mfv`` with ``argv``; return the exit status of the contract in :mod:`port.exits`."""
    args = _parser().parse_args(argv)
    return run_handler(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
