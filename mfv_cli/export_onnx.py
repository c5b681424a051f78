"""``mfv export-onnx``: a Caffe net and its weights as an ONNX model (``port.onnx``), checked by onnx.checker."""

from __future__ import annotations

import argparse
from pathlib import Path

from mfv_cli.options import add_output_options
from port.caffe import load_net
from port.onnx import DEFAULT_OPSET, MIN_OPSET, export_onnx, save_onnx
from port.outputs import check_output_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export-onnx", help="export a Caffe net and its weights as an ONNX model")
    parser.add_argument("--prototxt", type=Path, required=True)
    parser.add_argument("--weights", type=Path, required=True, help=".caffemodel (V1 or V2)")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET}, at least {MIN_OPSET})"
    )
    parser.add_argument(
        "--all-blobs", action="store_true", help="every Caffe blob as a graph output (default: the net's results)"
    )
    add_output_options(parser, required=True, help="the .onnx file to write (refused if one exists)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out, force=args.force)
    export = export_onnx(load_net(args.prototxt, args.weights), opset=args.opset, all_blobs=args.all_blobs)
    save_onnx(export, args.out)
    print(f"wrote {args.out}: opset {export.opset}, outputs {', '.join(export.outputs)}")
    return 0
