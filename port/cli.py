"""The ``mfv`` command.

    mfv demo                      layers parity on the built-in default (random CaffeNet)
    mfv legacy setup | info       provision / describe the legacy Caffe stack
    mfv parity layers ...         parity levels 0-2 for any prototxt + caffemodel
    mfv make-weights ...          deterministic random weights for a prototxt

Exit status: 0 success, 1 parity outside tolerance, 2 bad input or a broken stack.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

DEFAULT_REPORTS = Path("reports")


def _add_stack_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="chroot",
                        help="legacy stack: 'chroot' (Debian bullseye root, see `mfv legacy setup`) "
                             "or 'local:/path/to/python' (an interpreter where `import caffe` works)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of the legacy stack (default 1)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mfv", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="layers parity on the built-in default: CaffeNet with generated weights")
    demo.add_argument("--out", type=Path, help="report directory (default reports/demo-<time>)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the generated weights and start image")
    _add_stack_args(demo)

    legacy = sub.add_parser("legacy", help="the legacy Caffe stack").add_subparsers(dest="legacy_command", required=True)
    setup = legacy.add_parser("setup", help="build the Debian bullseye + Caffe root (needs root, once)")
    setup.add_argument("--root", type=Path, help="where to build it (default: the user's cache folder)")
    setup.add_argument("--mirror", help="Debian mirror URL (default $MFV_DEBIAN_MIRROR or deb.debian.org)")
    setup.add_argument("--force", action="store_true", help="rebuild even if a complete root exists")
    info = legacy.add_parser("info", help="print the legacy interpreter's manifest")
    _add_stack_args(info)

    parity = sub.add_parser("parity", help="compare the port with the legacy stack").add_subparsers(
        dest="parity_command", required=True)
    layers = parity.add_parser("layers", help="levels 0-2: weights, every blob forward, every diff backward")
    layers.add_argument("--prototxt", type=Path, required=True)
    layers.add_argument("--weights", type=Path, required=True, help=".caffemodel (V1 or V2)")
    layers.add_argument("--image", type=Path, help="input image (default: the legacy random start from --seed)")
    layers.add_argument("--target", action="append", default=[], metavar="LAYER:UNIT[:Y:X]",
                        help="one-hot backward target (repeatable; default: last two fc layers, last conv centre)")
    layers.add_argument("--seed", type=int, default=0)
    layers.add_argument("--tolerances", type=Path, help="tolerance table JSON (default: parity/tolerances.json)")
    layers.add_argument("--out", type=Path, help="report directory (default reports/layers-<time>)")
    _add_stack_args(layers)
    layers.set_defaults(handler=_cmd_parity_layers)
    from parity.run_command import add_run_parser

    add_run_parser(parity)

    from port.mfv.command import add_visualize_parser

    add_visualize_parser(sub)

    weights = sub.add_parser("make-weights", help="write deterministic random weights for a prototxt")
    weights.add_argument("--prototxt", type=Path, required=True)
    weights.add_argument("--seed", type=int, default=0)
    weights.add_argument("--format", choices=("v2", "v1"), default="v2", help="caffemodel layout (default v2)")
    weights.add_argument("--out", type=Path, required=True)
    return parser


def _run_dir(out: Path | None, prefix: str) -> Path:
    return out or DEFAULT_REPORTS / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def _layers_report(prototxt: Path, weights: Path, args: argparse.Namespace, out: Path, **kw) -> int:
    from parity.layers import run_layers_parity
    from parity.layers_report import render
    from parity.report import write_report
    from parity.stacks import get_stack
    from parity.tolerances import Tolerances

    tol = Tolerances.load(args.tolerances) if getattr(args, "tolerances", None) else Tolerances.load()
    report = run_layers_parity(prototxt, weights, get_stack(args.stack), threads=args.threads,
                               seed=args.seed, tolerances=tol, **kw)
    path = write_report(out, report, render(report))
    print(report["verdict"]["summary"])
    print(f"report: {path}")
    return 0 if report["verdict"]["pass"] else 1


def _cmd_parity_layers(args: argparse.Namespace) -> int:
    from port.caffe import Target

    targets = [Target.parse(t) for t in args.target] or None
    return _layers_report(args.prototxt, args.weights, args, _run_dir(args.out, "layers"),
                          image=args.image, targets=targets)


def _cmd_make_weights(args: argparse.Namespace) -> int:
    from port.caffe import fill_random, load_net, read_prototxt, write_caffemodel

    net = fill_random(load_net(args.prototxt), args.seed)
    blobs = {name: [b.numpy() for b in params] for name, params in net.caffe_params().items()}
    write_caffemodel(args.out, read_prototxt(args.prototxt), blobs, version=args.format)
    print(f"wrote {args.out}: deterministic random weights (seed {args.seed}), not pretrained")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from port.models import CAFFENET_PROTOTXT

    print("mfv demo: CaffeNet with GENERATED deterministic random weights "
          f"(seed {args.seed}; no pretrained weights are downloaded), random start image, real Caffe beside it")
    with tempfile.TemporaryDirectory(prefix="mfv-demo-") as tmp:
        weights = Path(tmp) / f"caffenet-random-seed{args.seed}.caffemodel"
        _cmd_make_weights(argparse.Namespace(prototxt=CAFFENET_PROTOTXT, seed=args.seed, format="v2", out=weights))
        return _layers_report(CAFFENET_PROTOTXT, weights, args, _run_dir(args.out, "demo"))


def _cmd_legacy(args: argparse.Namespace) -> int:
    import json

    from parity.provision import environment, setup_chroot
    from parity.stacks import get_stack

    if args.legacy_command == "setup":
        root = setup_chroot(args.root, mirror=args.mirror, force=args.force)
        print(f"legacy stack ready: {root}")
        return 0
    print(json.dumps(environment(get_stack(args.stack)), indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from parity.stacks import LegacyStackError
    from port.caffe import CaffeFormatError

    handlers = {"demo": _cmd_demo, "legacy": _cmd_legacy, "make-weights": _cmd_make_weights,
                "parity": _cmd_parity_layers}
    try:
        handler = getattr(args, "handler", None) or handlers[args.command]
        return handler(args)
    except (CaffeFormatError, FileNotFoundError, ValueError, LegacyStackError) as exc:
        print(f"mfv: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
