"""``mfv legacy setup | info``: provision a legacy Caffe stack, print its interpreter's manifest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mfv_cli.options import add_stack_options, stack_from_args
from parity.stacks import provision, provision_py27


def add_parser(sub: argparse._SubParsersAction) -> None:
    legacy = sub.add_parser("legacy", help="the legacy Caffe stack").add_subparsers(
        dest="legacy_command", required=True
    )
    setup = legacy.add_parser("setup", help="build a legacy Caffe root (needs root, once)")
    setup.add_argument(
        "--stack",
        choices=("chroot", "py27"),
        default="chroot",
        help="chroot: Debian bullseye's Python 3.9 and python3-caffe; py27: Python 2.7 with the thesis's pinned "
        "packages and pycaffe for 2.7 on the same libcaffe (default chroot)",
    )
    setup.add_argument("--root", type=Path, help="where to build it (default: the user's cache folder)")
    setup.add_argument(
        "--mirror", help="Debian mirror URL (default $MFV_DEBIAN_MIRROR, else debootstrap's and apt's own default)"
    )
    setup.add_argument("--force", action="store_true", help="rebuild even if a complete root exists")
    setup.set_defaults(handler=run_setup)
    info = legacy.add_parser("info", help="print the legacy interpreter's manifest")
    add_stack_options(info)
    info.set_defaults(handler=run_info)


def run_setup(args: argparse.Namespace) -> int:
    setup = provision_py27.setup_py27 if args.stack == "py27" else provision.setup_chroot
    print(f"legacy stack {args.stack} ready: {setup(args.root, mirror=args.mirror, force=args.force)}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    print(json.dumps(provision.environment(stack_from_args(args), threads=args.threads), indent=2, sort_keys=True))
    return 0
