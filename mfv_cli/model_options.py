"""The options naming the net, its weights, the target and the schedule (``mfv visualize``, ``mfv parity run``),
and what they build: the port's net, the checked run configuration, the loop's ops."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mfv_cli.validation import fraction, non_negative_int, positive_int, seed_number
from port.caffe import CaffeNetwork, fill_random, load_net, save_caffemodel
from port.mfv.backends import DEFAULT_OPS, OPS, LoopOps
from port.mfv.loop import MFVConfig
from port.mfv.model import VisModel
from port.mfv.presets import default_preset, load_presets, preset
from port.models import (
    CAFFENET_PROTOTXT,
    NETS,
    PLANTED_CAFFENET_PROTOTXT,
    PLANTED_CAFFENET_WEIGHTS,
    caffenet,
    net_factory,
)
from port.targets import Target, check_target

if TYPE_CHECKING:
    from parity.comparisons.mfv import RunSetup

RANDOM_WEIGHTS_SEED = 0
TARGET_FLAGS = {"layer": "--layer", "unit": "--unit", "position": "--xy"}


def add_net_options(parser: argparse.ArgumentParser) -> None:
    """``--net``, ``--prototxt``, ``--weights``, ``--pretrained`` and ``--input-size``: which network, which weights."""
    parser.add_argument(
        "--net", default="caffenet", choices=sorted(NETS), help="network by name (port.models.NETS; default caffenet)"
    )
    parser.add_argument("--prototxt", type=Path, help="a Caffe deploy prototxt instead of a named net")
    parser.add_argument(
        "--weights",
        type=Path,
        help="a .caffemodel (Caffe nets) or a state-dict file (torchvision nets); default: deterministic "
        "random weights - NOT pretrained",
    )
    parser.add_argument(
        "--pretrained",
        action="store_true",
        help="torchvision nets: torchvision's pretrained weights from its download cache (nothing is downloaded)",
    )
    parser.add_argument(
        "--input-size", type=positive_int, help="torchvision nets: side of the square input (default 224)"
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The net options (:func:`add_net_options`), the target (``--unit``, ``--layer``, ``--xy``), ``--start``,
    ``--seed``, the schedule (``--preset``, ``--iterations-scale``, ``--no-legacy``) and ``--ops``."""
    add_net_options(parser)
    parser.add_argument(
        "--unit", type=non_negative_int, required=True, help="unit of the target layer, e.g. 945 (bell pepper)"
    )
    parser.add_argument(
        "--layer",
        help="target layer or module path for octaves that name none (default: the net's class scores, "
        "fc8 for CaffeNet, logits for torchvision nets)",
    )
    parser.add_argument("--xy", type=non_negative_int, help="spatial position (row = column = xy) of a conv target")
    parser.add_argument("--start", type=Path, help="start image (e.g. a facet's mean image); default random")
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument(
        "--preset",
        choices=sorted(load_presets()),
        help="octave schedule (port/mfv/presets.json; default: the net's, mean for CaffeNet)",
    )
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


def checked_config(net: VisModel, args: argparse.Namespace) -> MFVConfig:
    """The run's configuration, its target checked against ``net`` for every octave's layer.

    Fills ``args.layer`` (the net's class layer) and ``args.preset`` (the net's default) when not given.
    """
    args.layer = args.layer or net.class_layer
    args.preset = args.preset or default_preset(args.net if args.prototxt is None else "caffenet")
    y = x = args.xy
    config = MFVConfig(
        Target(args.layer, args.unit, y, x),
        preset(args.preset, iterations_scale=args.iterations_scale),
        legacy=args.legacy,
    )
    shapes = net.layer_shapes()
    for layer in dict.fromkeys(octave.layer or args.layer for octave in config.octaves):
        check_target(shapes, Target(layer, args.unit, y, x), net.source, TARGET_FLAGS)
    return config


CAFFE_NETS = {"caffenet": CAFFENET_PROTOTXT, "planted_caffenet": PLANTED_CAFFENET_PROTOTXT}
"""The named nets the legacy stack can run too: their deploy prototxts."""
BUILT_IN_WEIGHTS = {"planted_caffenet": PLANTED_CAFFENET_WEIGHTS}
"""The named nets whose trained weights are in the repository."""


def caffe_weights(args: argparse.Namespace) -> Path | None:
    """--weights, or the built-in weights of --net (None: random weights)."""
    if args.weights is not None or args.prototxt is not None:
        return args.weights
    return BUILT_IN_WEIGHTS.get(args.net)


def net_from_args(args: argparse.Namespace) -> tuple[CaffeNetwork, Path]:
    """The port's Caffe net and its prototxt; without weights, random CaffeNet weights (said loudly)."""
    if args.net not in CAFFE_NETS and args.prototxt is None:
        known = " or ".join(CAFFE_NETS)
        raise ValueError(f"--net {args.net}: the legacy stack runs Caffe nets only ({known}, or --prototxt)")
    prototxt = args.prototxt or CAFFE_NETS[args.net]
    weights = caffe_weights(args)
    if weights is None:
        if args.prototxt is not None:
            raise ValueError("--prototxt needs --weights")
        print(
            f"mfv: WARNING: no --weights: CaffeNet with deterministic random weights (seed {RANDOM_WEIGHTS_SEED}), "
            "not pretrained; the images will not look like the paper's"
        )
        return caffenet(seed=RANDOM_WEIGHTS_SEED), prototxt
    if args.prototxt is None:
        return net_factory(args.net)(weights), prototxt
    return load_net(prototxt, weights), prototxt


def model_from_args(args: argparse.Namespace, *, random_prototxt: bool = False, warn: TextIO | None = None) -> VisModel:
    """The network the options name, any entry of ``port.models.NETS`` or a Caffe prototxt.

    Without weights the net gets deterministic random ones, said on ``warn`` (default stdout) and in
    ``weights_description``; ``random_prototxt`` allows a --prototxt without --weights.
    """
    model = _model(args, random_prototxt)
    if caffe_weights(args) is None and not args.pretrained:
        name = args.net if args.prototxt is None else str(args.prototxt)
        print(
            f"mfv: WARNING: no --weights: {name} with {model.weights_description}; not a trained net's images",
            file=warn or sys.stdout,
        )
    return model


def _model(args: argparse.Namespace, random_prototxt: bool) -> VisModel:
    if args.prototxt is not None:
        if args.pretrained or args.input_size is not None:
            raise ValueError("--pretrained and --input-size are for torchvision nets, not --prototxt")
        if args.weights is None:
            if not random_prototxt:
                raise ValueError("--prototxt needs --weights")
            return fill_random(load_net(args.prototxt), RANDOM_WEIGHTS_SEED)
        return load_net(args.prototxt, args.weights)
    return named_model(args.net, args.weights, pretrained=args.pretrained, input_size=args.input_size)


def named_model(
    name: str,
    weights: Path | None,
    *,
    pretrained: bool = False,
    input_size: int | None = None,
    lenient: bool = False,
) -> VisModel:
    """``port.models.NETS[name]`` with ``weights`` (random without), ``--pretrained`` and ``--input-size``
    when given; those two are refused for nets that do not take them unless ``lenient`` drops them."""
    factory = net_factory(name)
    accepted = inspect.signature(factory).parameters
    extra = {"pretrained": pretrained and weights is None, "input_size": input_size}
    kwargs = {}
    for option, value in extra.items():
        if value and option not in accepted and not lenient:
            raise ValueError(f"--{option.replace('_', '-')}: not an option of {name} (torchvision nets only)")
        if value and option in accepted:
            kwargs[option] = value
    if "seed" in accepted:
        kwargs["seed"] = RANDOM_WEIGHTS_SEED
    return factory(weights, **kwargs)


def weights_file(net: CaffeNetwork, prototxt: Path, args: argparse.Namespace, tmp: Path) -> Path:
    """The weights as a file the legacy stack can load: --weights or the net's built-in ones, or the random ones
    written out."""
    weights = caffe_weights(args)
    if weights is not None:
        return weights
    path = tmp / "random-weights.caffemodel"
    save_caffemodel(net, prototxt, path)
    return path


def run_setup_from_args(args: argparse.Namespace, tmp: Path) -> RunSetup:
    """What both stacks need for one run (``mfv parity run``, ``mfv parity env``); random weights go in ``tmp``."""
    from parity.comparisons.mfv import RunSetup
    from port.confine import name_of_layer
    from port.imaging import load_rgb

    net, prototxt = net_from_args(args)
    config = checked_config(net, args)
    start = None if args.start is None else load_rgb(args.start)
    weights = weights_file(net, prototxt, args, tmp)
    return RunSetup(net, prototxt, weights, config, args.seed, args.start, start, name_of_layer(config.target.layer))
