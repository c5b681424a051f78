"""``mfv planted train | measure``: PlantedCaffeNet, trained in real Caffe on the planted-facet images, and
what MFV finds on it against the planted ground truth (docs/planted.md).

    mfv planted train --out W.caffemodel [--steps 2500] [--images 4800]   # the committed model, bit for bit
    mfv planted measure [--weights W] [--images-per-facet 40] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mfv_cli.exits import EXIT_OK, EXIT_PARITY_FAILED
from mfv_cli.options import add_output_options, add_report_options, add_stack_options, stack_from_args
from mfv_cli.reports import announce, report_dir
from parity.comparisons.planted import check_images_per_facet, measure_planted, planted_report
from parity.comparisons.planted_training import (
    SNAPSHOTS,
    TrainingRecipe,
    check_recipe,
    sha256,
    train_planted,
    training_record,
)
from parity.reports import write_report
from parity.reports.planted import render
from port.atomic import atomic_write_text
from port.models.planted_caffenet import PLANTED_CAFFENET_WEIGHTS, planted_caffenet
from port.outputs import check_output_file

QUICK_SCALE = 0.1


def add_parser(sub: argparse._SubParsersAction) -> None:
    planted = sub.add_parser(
        "planted", help="PlantedCaffeNet: train it in Caffe, measure what MFV finds on it"
    ).add_subparsers(dest="planted_command", required=True)
    train = planted.add_parser("train", help="train PlantedCaffeNet in the legacy stack's Caffe")
    defaults = TrainingRecipe()
    train.add_argument("--steps", type=int, default=defaults.steps, help=f"solver steps (default {defaults.steps})")
    train.add_argument(
        "--images", type=int, default=defaults.images, help=f"training images of seed 0 (default {defaults.images})"
    )
    add_output_options(train, required=True, help="the caffemodel to write (refused if one exists)")
    add_stack_options(train)
    train.set_defaults(handler=run_train)
    measure = planted.add_parser(
        "measure", help="accuracy, recovered facets and MFV per facet, classified by both stacks"
    )
    measure.add_argument("--weights", type=Path, help="a PlantedCaffeNet caffemodel (default: the committed one)")
    measure.add_argument("--images-per-facet", type=int, default=40, help="held-out images per facet (default 40)")
    measure.add_argument("--quick", action="store_true", help="shorten the MFV schedule to a tenth")
    add_report_options(measure, "planted")
    add_stack_options(measure)
    measure.set_defaults(handler=run_measure)


def run_train(args: argparse.Namespace) -> int:
    recipe = TrainingRecipe(images=args.images, steps=args.steps)
    check_recipe(recipe)
    record_path = args.out.with_suffix(".json")
    for path in (args.out, record_path):
        check_output_file(path, force=args.force)
    stack = stack_from_args(args)
    print(
        f"training PlantedCaffeNet in Caffe on {stack.name}: {recipe.steps} steps, {recipe.images} planted images "
        f"(seed {recipe.image_seed}), {args.threads} BLAS thread(s) on the {stack.blas_core} kernel"
    )
    began = time.perf_counter()
    run = train_planted(
        stack, recipe, args.out, threads=args.threads, timeout=max(args.timeout, 3600.0), snapshots=SNAPSHOTS
    )
    atomic_write_text(record_path, json.dumps(training_record(run, stack.blas_core, args.threads), indent=1) + "\n")
    print(
        f"{time.perf_counter() - began:.0f} s ({run.seconds_per_step:.3f} s per step); last 100 steps' batch accuracy "
        f"{run.final_accuracy:.1%}; losses {run.losses[-1].round(4).tolist()}"
    )
    print(f"wrote {args.out}: SHA-256 {run.sha256}; the training's record: {record_path}")
    if recipe == TrainingRecipe():
        same = run.sha256 == sha256(PLANTED_CAFFENET_WEIGHTS)
        print(f"the committed {PLANTED_CAFFENET_WEIGHTS.name}: {'the same bytes' if same else 'DIFFERENT bytes'}")
        return EXIT_OK if same else EXIT_PARITY_FAILED
    return EXIT_OK


def run_measure(args: argparse.Namespace) -> int:
    check_images_per_facet(args.images_per_facet)
    out = report_dir(args, "planted")
    weights = args.weights or PLANTED_CAFFENET_WEIGHTS
    net = planted_caffenet(args.weights)
    print(f"PlantedCaffeNet: {net.weights_description}")
    measures = measure_planted(
        net,
        stack_from_args(args),
        weights,
        images_per_facet=args.images_per_facet,
        iterations_scale=QUICK_SCALE if args.quick else None,
        threads=args.threads,
    )
    report = planted_report(measures, weights)
    return announce(report, write_report(out, report, render(report), force=args.force))
