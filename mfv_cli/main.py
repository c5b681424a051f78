"""The ``mfv`` command.

    mfv demo                      layers, lockstep and free-run parity on the built-in default
    mfv visualize ...             the MFV loop for one unit, port or pycaffe reference
    mfv facets ...                mean images (facets) of a folder of class images
    mfv gallery --nets A,B ...    one neuron's facets on several networks, measured, as one HTML page
    mfv layers --net NAME         the targetable layers / module paths of a net and their shapes
    mfv parity run ...            parity levels 4-5: lockstep and free runs of the loop
    mfv legacy setup | info       provision / describe a legacy Caffe stack (chroot, py27)
    mfv docker setup | stop       the private Docker engine and the images of docker/
    mfv parity layers ...         parity levels 0-2 for any prototxt + caffemodel
    mfv parity ops ...            parity level 3: the port's zoom and TV kernels vs scipy / scikit-image
    mfv parity env ...            the py27 stack vs the bullseye stack: does the 2016 environment matter?
    mfv make-weights ...          deterministic random weights for a prototxt
    mfv original ...              the published 2016 script, unchanged, on a legacy stack
    mfv export-onnx ...           any net the port loads, as ONNX with Caffe's blob names as outputs
    mfv planted train | measure   PlantedCaffeNet: trained in Caffe on planted facets; what MFV finds on it

Exit status (mfv_cli.exits): 0 success, 1 parity outside tolerance, 2 bad input or a broken stack,
3 a bug in mfv (please report it), 130 / 143 stopped by SIGINT / SIGTERM.  --out must be absent, empty or an
earlier mfv output; anything else is refused unless --force is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mfv_cli import (
    demo,
    docker,
    export_onnx,
    facets,
    gallery,
    layers,
    legacy,
    make_weights,
    original,
    parity_env,
    parity_layers,
    parity_ops,
    parity_run,
    planted,
    visualize,
)
from mfv_cli.exits import run_handler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfv", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(sub)
    legacy.add_parser(sub)
    docker.add_parser(sub)
    parity = sub.add_parser("parity", help="compare the port with the legacy stack").add_subparsers(
        dest="parity_command", required=True
    )
    parity_layers.add_parser(parity)
    parity_run.add_parser(parity)
    parity_ops.add_parser(parity)
    parity_env.add_parser(parity)
    visualize.add_parser(sub)
    facets.add_parser(sub)
    layers.add_parser(sub)
    gallery.add_parser(sub)
    make_weights.add_parser(sub)
    export_onnx.add_parser(sub)
    original.add_parser(sub)
    planted.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mfv`` with ``argv``; return the exit status of the contract in :mod:`mfv_cli.exits`."""
    args = _parser().parse_args(argv)
    return run_handler(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
