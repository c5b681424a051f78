"""``mfv visualize``: one neuron, one facet (or every facet of a facets folder), with the port or with the
pycaffe reference."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from mfv_cli.model_options import (
    add_model_options,
    checked_config,
    model_from_args,
    net_from_args,
    ops_from_args,
    weights_file,
)
from mfv_cli.options import (
    add_device_option,
    add_output_options,
    add_quiet_option,
    add_stack_options,
    device_from_args,
    stack_from_args,
)
from parity.comparisons.reference import run_reference
from port.confine import inside, name_of_layer, plain_name
from port.imaging import load_rgb
from port.mfv.loop import run_mfv
from port.mfv.outputs import write_run
from port.outputs import check_output, output_directory


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("visualize", help="visualise one unit with the MFV octave loop")
    add_model_options(parser)
    parser.add_argument(
        "--facets",
        type=Path,
        help="a facets directory (mfv facets): run every facet's mean image "
        "as a start, in one batch; writes DIR/facet_<j>/",
    )
    parser.add_argument(
        "--name", help="name part of the legacy JPEG, <name>_<unit:04d>.jpg (a plain file name; default: the layer)"
    )
    add_output_options(
        parser, required=True, help="output directory: absent, empty or an earlier mfv output (replaced atomically)"
    )
    add_stack_options(parser, default=None)
    add_device_option(parser)
    add_quiet_option(parser)
    parser.set_defaults(handler=run)


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


def run(args: argparse.Namespace) -> int:
    if args.facets is not None and args.start is not None:
        raise ValueError("give --start or --facets, not both")
    check_output(args.out, force=args.force)
    if args.name is not None:
        plain_name(args.name, "--name")
    if args.stack is None:
        net, prototxt = model_from_args(args), args.prototxt
    else:
        net, prototxt = net_from_args(args)
    config = checked_config(net, args)
    name = args.name or name_of_layer(args.layer)
    start_paths = facet_starts(args.facets) if args.facets is not None else [args.start]
    starts = [None if path is None else load_rgb(path) for path in start_paths]
    info = {
        "target": str(config.target),
        "preset": args.preset,
        "legacy": args.legacy,
        "weights": net.weights_description,
        "net": args.net if args.prototxt is None else str(args.prototxt),
        "input_convention": asdict(net.convention),
    }
    began = time.perf_counter()
    if args.stack is None:
        ops, device = ops_from_args(args), device_from_args(args)
        runs = run_mfv(net.to(device), config, [args.seed] * len(starts), starts, ops=ops, progress=not args.quiet)
        jpegs, info["engine"] = [None] * len(runs), f"port (PyTorch on {device}, {ops.name} ops)"
    else:
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
