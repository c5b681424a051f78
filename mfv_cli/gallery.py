"""``mfv gallery``: one neuron's facets on several networks, batched per network, measured, on one page.

mfv gallery --nets caffenet,alexnet,vgg16 --unit 945 --facets FACETS --out OUT
            [--weights NET=FILE ...] [--pretrained] [--input-size N] [--preset P] [--iterations-scale F]
            [--seed 0] [--ops torch|reference] [--device auto|cpu|cuda] [--quiet] [--force]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mfv_cli.model_options import RANDOM_WEIGHTS_SEED
from mfv_cli.options import add_device_option, add_output_options, add_quiet_option, command_parser, device_from_args
from mfv_cli.validation import fraction, non_negative_int, positive_int, seed_number
from mfv_cli.visualize import facet_starts
from port.mfv.backends import DEFAULT_OPS, OPS
from port.outputs import check_output


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = command_parser(
        sub, "gallery", "one neuron's facets on several networks, measured, as one HTML page", __doc__
    )
    parser.add_argument("--nets", required=True, help="comma-separated network names (port.models.NETS)")
    parser.add_argument("--unit", type=non_negative_int, required=True, help="class unit, e.g. 945 (bell pepper)")
    parser.add_argument("--facets", type=Path, required=True, help="a facets directory (mfv facets): the starts")
    parser.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="NET=FILE",
        help="weights of one net (repeat per net); nets without any get deterministic random weights",
    )
    parser.add_argument("--pretrained", action="store_true", help="torchvision nets: torchvision's cached weights")
    parser.add_argument("--input-size", type=positive_int, help="torchvision nets: input side (default 224)")
    parser.add_argument("--preset", help="one preset for every net (default: each net's own, presets.json)")
    parser.add_argument("--iterations-scale", type=fraction, help="shorten every octave by this factor in (0, 1]")
    parser.add_argument("--seed", type=seed_number, default=0)
    parser.add_argument("--ops", choices=tuple(OPS), default=DEFAULT_OPS, help="zoom and denoiser kernels")
    add_output_options(parser, required=True, help="gallery folder: absent, empty or an earlier mfv output")
    add_device_option(parser)
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


def weights_by_net(entries: list[str], nets: list[str]) -> dict[str, Path]:
    """``NET=FILE`` entries as a mapping, each NET one of ``nets``."""
    weights = {}
    for entry in entries:
        net, sep, file = entry.partition("=")
        if not sep or not file:
            raise ValueError(f"--weights {entry!r}: give NET=FILE")
        if net not in nets:
            raise ValueError(f"--weights {entry!r}: {net} is not one of --nets ({', '.join(nets)})")
        weights[net] = Path(file)
    return weights


def run(args: argparse.Namespace) -> int:
    from port.gallery.page import write_gallery
    from port.gallery.run import run_net
    from port.mfv.presets import default_preset, preset
    from port.models import net_factory

    nets = [name.strip() for name in args.nets.split(",") if name.strip()]
    factories = {name: net_factory(name) for name in nets}
    weights = weights_by_net(args.weights, nets)
    check_output(args.out, force=args.force)
    start_paths = facet_starts(args.facets)
    device = device_from_args(args)
    galleries = []
    for name in nets:
        extra = {"pretrained": args.pretrained and name not in weights, "input_size": args.input_size}
        kwargs = {k: v for k, v in extra.items() if v and k in factories[name].__code__.co_varnames}
        model = factories[name](weights.get(name), seed=RANDOM_WEIGHTS_SEED, **kwargs).to(device)
        preset_name = args.preset or default_preset(name)
        octaves = preset(preset_name, iterations_scale=args.iterations_scale)
        gallery = run_net(
            name,
            model,
            args.unit,
            start_paths,
            preset_name,
            octaves,
            args.seed,
            OPS[args.ops](),
            progress=not args.quiet,
        )
        galleries.append(gallery)
        print(
            f"{name} ({gallery.weights}): {len(gallery.runs)} facets, {gallery.iterations} iterations, "
            f"{gallery.seconds_per_iteration:.3g} s/iteration; activation "
            + ", ".join(f"{m.activation:.3g}" for m in gallery.measures)
            + f"; relative diversity {gallery.relative_diversity:.3g}"
        )
    out = write_gallery(args.out, args.unit, galleries, force=args.force)
    print(f"wrote {out / 'index.html'}")
    return 0
