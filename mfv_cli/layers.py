"""``mfv layers``: the targetable layers (Caffe) or module paths (torchvision) of a net, with their shapes.

mfv layers --net NAME [--weights W | --pretrained] [--input-size N]
mfv layers --prototxt P [--weights W]
"""

from __future__ import annotations

import argparse

from mfv_cli.model_options import add_net_options, model_from_args
from mfv_cli.options import command_parser
from port.targets import LayerShape


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = command_parser(sub, "layers", "list a net's targetable layers and their shapes", __doc__)
    add_net_options(parser)
    parser.set_defaults(handler=run)


def target_form(layer: LayerShape) -> str:
    """How ``mfv visualize`` names a unit of ``layer``: the unit range, and the position range if spatial."""
    form = f"--layer {layer.name} --unit 0..{layer.shape[1] - 1}"
    if layer.spatial:
        form += f" --xy 0..{min(layer.shape[2:]) - 1}"
    return form


def run(args: argparse.Namespace) -> int:
    model = model_from_args(args, random_prototxt=True)
    layers = [layer for layer in model.layer_shapes() if len(layer.shape) in (2, 4)]
    print(f"{model.source}: input {model.input_size[0]}x{model.input_size[1]}, {model.convention}")
    print(f"weights: {model.weights_description}")
    width = max(len(layer.name) for layer in layers)
    for layer in layers:
        shape = "x".join(str(n) for n in layer.shape[1:])
        print(f"{layer.name:<{width}}  {shape:<14}  {target_form(layer)}")
    print(f"{len(layers)} targetable outputs; class scores: {model.class_layer}, softmax: {model.prob_layer}")
    return 0
