"""The options naming the net, its weights, the target and the schedule (``mfv visualize``, ``mfv parity run``),
and what they build: the port's net, the checked run configuration, the loop's ops."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from mfv_cli.validation import fraction, non_negative_int, seed_number
from port.caffe import CaffeNetwork, Target, load_net, save_caffemodel
from port.caffe.targets import check_target
from port.mfv.backends import DEFAULT_OPS, OPS, LoopOps
from port.mfv.loop import MFVConfig
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet

if TYPE_CHECKING:
    from parity.runs import RunSetup

RANDOM_WEIGHTS_SEED = 0
TARGET_FLAGS = {"layer": "--layer", "unit": "--unit", "position": "--xy"}


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--net``, ``--prototxt``, ``--weights``, the target (``--unit``, ``--layer``, ``--xy``), ``--start``,
    ``--seed``, the schedule (``--preset``, ``--iterations-scale``, ``--no-legacy``) and ``--ops``."""
    parser.add_argument("--net", default="caffenet", choices=("caffenet",), help="built-in net (default caffenet)")
    parser.add_argument("--prototxt", type=Path, help="a deploy prototxt instead of the built-in net's")
    parser.add_argument(
        "--weights", type=Path, help="a .caffemodel (default: deterministic random CaffeNet weights - NOT pretrained)"
    )
    parser.add_argument(
        "--unit", type=non_negative_int, required=True, help="unit of the target layer, e.g. 945 (bell pepper)"
    )
    parser.add_argument("--layer", default="fc8", help="target layer for octaves that name none (default fc8)")
    parser.add_argument("--xy", type=non_negative_int, help="spatial position (row = column = xy) of a conv target")
    parser.add_argument("--start", type=Path, help="start image (e.g. a facet's mean image); default random")
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument("--preset", default="mean", choices=("mean", "center"))
    parser.add_argument(
        "--iterations-scale",
        type=fraction,
        help="shorten every octave by this factor in (0, 1] (quick runs; not the paper's schedule)",
    )
    parser.add_argument(
        "--ops",
        choices=tuple(OPS),
        default=DEFAULT_OPS,
        help="zoom and denoiser: the port's kernels ('torch', default, batched) or scipy/scikit-image "
        "themselves, image by image ('reference')",
    )
    parser.add_argument(
        "--no-legacy",
        dest="legacy",
        action="store_false",
        help="intended schedules (linear ramps, true division) and a guarded step",
    )


def ops_from_args(args: argparse.Namespace) -> LoopOps:
    return OPS[args.ops]()


def checked_config(net: CaffeNetwork, args: argparse.Namespace) -> MFVConfig:
    """The run's configuration, its target checked against ``net`` for every octave's layer."""
    y = x = args.xy
    config = MFVConfig(
        Target(args.layer, args.unit, y, x),
        preset(args.preset, iterations_scale=args.iterations_scale),
        legacy=args.legacy,
    )
    for layer in dict.fromkeys(octave.layer or args.layer for octave in config.octaves):
        check_target(net, Target(layer, args.unit, y, x), TARGET_FLAGS)
    return config


def net_from_args(args: argparse.Namespace) -> tuple[CaffeNetwork, Path]:
    """The port's net and its prototxt; without --weights, random CaffeNet weights (said loudly)."""
    prototxt = args.prototxt or CAFFENET_PROTOTXT
    if args.weights is None:
        if args.prototxt is not None:
            raise ValueError("--prototxt needs --weights")
        print(
            f"mfv: WARNING: no --weights: CaffeNet with deterministic random weights (seed {RANDOM_WEIGHTS_SEED}), "
            "not pretrained; the images will not look like the paper's"
        )
        return caffenet(seed=RANDOM_WEIGHTS_SEED), prototxt
    return load_net(prototxt, args.weights), prototxt


def weights_file(net: CaffeNetwork, prototxt: Path, args: argparse.Namespace, tmp: Path) -> Path:
    """The weights as a file the legacy stack can load: --weights itself, or the random ones written out."""
    if args.weights is not None:
        return args.weights
    path = tmp / "random-weights.caffemodel"
    save_caffemodel(net, prototxt, path)
    return path


def run_setup_from_args(args: argparse.Namespace, tmp: Path) -> RunSetup:
    """What both stacks need for one run (``mfv parity run``, ``mfv parity env``); random weights go in ``tmp``."""
    from parity.runs import RunSetup
    from port.confine import name_of_layer
    from port.imaging import load_rgb

    net, prototxt = net_from_args(args)
    config = checked_config(net, args)
    start = None if args.start is None else load_rgb(args.start)
    weights = weights_file(net, prototxt, args, tmp)
    return RunSetup(net, prototxt, weights, config, args.seed, args.start, start, name_of_layer(config.target.layer))
