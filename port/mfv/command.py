"""``mfv visualize``: one neuron, one facet, with the port or with the pycaffe reference."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from parity.stack_args import add_stack_args
from port.caffe import CaffeNetwork, Target, load_net, save_caffemodel
from port.caffe.targets import check_target
from port.confine import inside, name_of_layer, plain_name
from port.imaging import load_rgb
from port.mfv.backends import DEFAULT_OPS, OPS, LoopOps
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.outputs import write_run
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet
from port.outputs import add_force_arg, check_output, output_directory
from port.validation import fraction, non_negative_int, seed_number

RANDOM_WEIGHTS_SEED = 0
TARGET_FLAGS = {"layer": "--layer", "unit": "--unit", "position": "--xy"}


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The options naming the net, its weights, the target and the schedule (shared with ``mfv parity run``)."""
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


def add_visualize_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("visualize", help="visualise one unit with the MFV octave loop")
    add_model_args(parser)
    parser.add_argument(
        "--facets",
        type=Path,
        help="a facets directory (mfv facets): run every facet's mean image "
        "as a start, in one batch; writes DIR/facet_<j>/",
    )
    parser.add_argument(
        "--name", help="name part of the legacy JPEG, <name>_<unit:04d>.jpg (a plain file name; default: the layer)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory: absent, empty or an earlier mfv output (replaced atomically)",
    )
    add_force_arg(parser)
    add_stack_args(
        parser,
        default=None,
        help="run the pycaffe reference on this legacy stack instead of the port ('chroot' or 'local:/path/to/python')",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="where the port runs: cpu, cuda, cuda:N, or auto (default: cuda when present, else cpu)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=visualize_command)


def ops_from_args(args: argparse.Namespace) -> LoopOps:
    return OPS[args.ops]()


def device_from_args(args: argparse.Namespace) -> torch.device:
    """--device as a torch device; ``auto`` is CUDA when present."""
    if args.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise ValueError(f"--device {args.device!r}: not a device (cpu, cuda, cuda:N or auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: no CUDA device on this machine")
    return device


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


def facet_starts(facets_dir: Path) -> list[Path]:
    """The mean images of a facets directory, in facet order (its ``facets.json``)."""
    manifest = facets_dir / "facets.json"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"{facets_dir} is no facets directory: {manifest} is missing (make one with mfv facets)"
        )
    try:
        entries = json.loads(manifest.read_text())["facets"]
        return [
            inside(facets_dir, entry["mean_png"], f"{manifest}: facet {j}'s mean_png")
            for j, entry in enumerate(entries)
        ]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{manifest}: not a facets manifest ({exc})") from None


def visualize_command(args: argparse.Namespace) -> int:
    if args.facets is not None and args.start is not None:
        raise ValueError("give --start or --facets, not both")
    check_output(args.out, force=args.force)
    name = plain_name(args.name, "--name") if args.name is not None else name_of_layer(args.layer)
    net, prototxt = net_from_args(args)
    config = checked_config(net, args)
    start_paths = facet_starts(args.facets) if args.facets is not None else [args.start]
    starts = [None if path is None else load_rgb(path) for path in start_paths]
    info = {
        "target": str(config.target),
        "preset": args.preset,
        "legacy": args.legacy,
        "weights": net.weights_description,
        "prototxt": str(prototxt),
    }
    began = time.perf_counter()
    if args.stack is None:
        ops, device = ops_from_args(args), device_from_args(args)
        runs = run_mfv(net.to(device), config, [args.seed] * len(starts), starts, ops=ops, progress=not args.quiet)
        jpegs, info["engine"] = [None] * len(runs), f"port (PyTorch on {device}, {ops.name} ops)"
    else:
        from parity.reference import run_reference
        from parity.stack_args import stack_from_args

        stack = stack_from_args(args)
        with tempfile.TemporaryDirectory(prefix="mfv-visualize-") as tmp:
            weights = weights_file(net, prototxt, args, Path(tmp))
            done = [
                run_reference(stack, prototxt, weights, config, args.seed, path, name=name, threads=args.threads)
                for path in start_paths
            ]
        runs, jpegs = [d[0] for d in done], [d[1] for d in done]
        info["engine"] = f"pycaffe reference on {args.stack}"
        info["legacy_environment"] = done[0][2]["environment"]
    info["wall_seconds"] = round(time.perf_counter() - began, 3)
    if args.facets is None:
        out = write_run(
            args.out,
            runs[0],
            name=name,
            unit=args.unit,
            info=dict(info, start=str(args.start or "random")),
            jpeg=jpegs[0],
            force=args.force,
        )
    else:
        with output_directory(args.out, force=args.force) as partial:
            for j, (run, jpeg, path) in enumerate(zip(runs, jpegs, start_paths)):
                write_run(
                    partial / f"facet_{j}", run, name=name, unit=args.unit, info=dict(info, start=str(path)), jpeg=jpeg
                )
        out = args.out
    print(f"{info['engine']}: {len(runs)} run(s), {len(runs[0].trace)} iterations, {info['wall_seconds']} s")
    for j, run in enumerate(runs):
        cause = run.non_finite_cause()
        label = f"facet {j}: " if args.facets is not None else ""
        print(
            f"{label}final image {run.image.shape[0]}x{run.image.shape[1]}"
            + (
                f"; the image became NaN at {cause}"
                if cause
                else f", target activation {run.trace[-1].target_act:.4g} before the last step"
            )
        )
    print(f"wrote {out}")
    return 0
