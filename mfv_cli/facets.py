"""``mfv facets``: an image folder to a facets directory (``port.facets.make_facets``).

mfv facets --net NAME [--weights W | --pretrained] [--prototxt P [--weights W]] --images DIR
           --layer fc7 --k 10 --m 15 --seed 0 --out DIR [--batch-size 32]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mfv_cli.model_options import add_net_options, model_from_args
from mfv_cli.options import add_output_options, command_parser
from mfv_cli.validation import positive_int, seed_number
from port.facets.make import DEFAULT_BATCH_SIZE, make_facets
from port.outputs import check_output


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``facets`` subcommand to an ``mfv`` subparsers object."""
    parser = command_parser(
        subparsers,
        "facets",
        "facets of a class: codes, PCA, t-SNE, k-means, mean images (start images for visualize)",
        __doc__,
    )
    add_net_options(parser)
    parser.add_argument("--images", type=Path, required=True, help="folder of JPEG/PNG images of one class")
    parser.add_argument(
        "--layer",
        help="blob or module path whose values are the codes (default: what the final classifier reads, "
        "fc7 for CaffeNet)",
    )
    parser.add_argument("--k", type=positive_int, default=10, help="number of facets (k-means clusters; default 10)")
    parser.add_argument("--m", type=positive_int, default=15, help="images averaged per facet (default 15)")
    parser.add_argument("--seed", type=seed_number, default=0, help="seed of t-SNE and k-means (default 0)")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"images per forward pass (default {DEFAULT_BATCH_SIZE})",
    )
    add_output_options(
        parser, required=True, help="facets directory to write: absent, empty or an earlier mfv output (replaced whole)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``mfv facets``; exit status 0.  Bad input raises, for ``mfv``'s handler (``mfv_cli.exits``) to report."""
    check_output(args.out, force=args.force)
    net = model_from_args(args, random_prototxt=True, warn=sys.stderr)
    result = make_facets(
        net,
        args.images,
        args.layer or net.penultimate,
        args.k,
        args.m,
        args.seed,
        args.out,
        args.batch_size,
        force=args.force,
    )
    for skipped in result.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    sizes = ", ".join(str(n) for n in result.cluster_sizes)
    print(
        f"wrote {len(result.mean_images)} facets of {len(result.paths)} images "
        f"({len(result.skipped)} skipped) to {result.out_dir} - cluster sizes {sizes}; manifest {result.manifest}"
    )
    return 0
