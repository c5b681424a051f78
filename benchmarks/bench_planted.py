"""Benchmark: PlantedCaffeNet's pipeline - drawing the images, training in Caffe, classifying held-out images
on both stacks - with the port's forward against Caffe's measured in the same run.

* drawing: planted images per second at the net's input size (drawn at 256 and resized);
* training: seconds per solver step of the committed recipe's first ``--steps`` steps in the legacy
  stack's Caffe (pinned kernel, one thread, as the committed training) and the whole 2,500-step
  training projected from it;
* classifying: ``--images`` held-out images' class probabilities and fc7 codes through the port and
  through Caffe (the job's own time, net loading included, interpreter start-up not), and the ratio
  Caffe / port (above 1: the port is faster).

    .venv/bin/python benchmarks/bench_planted.py [--steps 50] [--images 480] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from parity.comparisons.planted import CODE_BLOB, port_blobs, predict
from parity.comparisons.planted_training import TrainingRecipe, train_planted
from parity.stacks import get_stack
from port.atomic import atomic_write_text
from port.models.planted_caffenet import (
    HELD_OUT_SEED,
    PLANTED_CAFFENET_WEIGHTS,
    PLANTED_INPUT_SIZE,
    TRAINING_RECORD,
    planted_caffenet,
)
from port.planted import planted_indices
from port.planted.dataset import planted_set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--images", type=int, default=480)
    parser.add_argument("--stack", default="chroot")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    record = json.loads(TRAINING_RECORD.read_text())
    stack = get_stack(args.stack, blas_core=record["blas_core"])

    began = time.perf_counter()
    held_out = planted_set(HELD_OUT_SEED, planted_indices(args.images), PLANTED_INPUT_SIZE)
    draw_rate = args.images / (time.perf_counter() - began)

    recipe = TrainingRecipe(**dict(record["recipe"], steps=args.steps))
    with tempfile.TemporaryDirectory(prefix="mfv-bench-") as tmp:
        run = train_planted(stack, recipe, Path(tmp) / "w.caffemodel", threads=record["threads"], progress=False)

    net = planted_caffenet()
    began = time.perf_counter()
    port_blobs(net, held_out.images, (net.prob_layer, CODE_BLOB))
    port_s = time.perf_counter() - began
    predictions = predict(net, stack, PLANTED_CAFFENET_WEIGHTS, held_out.images)
    caffe_s = predictions.legacy_manifest["wall_seconds"]["job"]
    agree = bool(np.array_equal(predictions.port_class, predictions.caffe_class))
    results = {
        "benchmark": "planted pipeline",
        "draw_images_per_s": draw_rate,
        "train_steps": args.steps,
        "train_s_per_step": run.seconds_per_step,
        "train_full_projected_s": run.seconds_per_step * record["recipe"]["steps"],
        "classify_images": args.images,
        "classify_caffe_s": caffe_s,
        "classify_port_s": port_s,
        "caffe_over_port": caffe_s / port_s,
        "same_classes": agree,
        "openblas_core": run.manifest["blas_core"]["observed"],
    }
    print(
        f"drawing {draw_rate:.0f} images/s; training {run.seconds_per_step:.3f} s per step in Caffe "
        f"({results['train_full_projected_s']:.0f} s projected for {record['recipe']['steps']} steps); "
        f"classifying {args.images} images: Caffe {caffe_s:.2f} s, port {port_s:.2f} s, "
        f"ratio Caffe/port = {caffe_s / port_s:.2f}x; same classes: {agree}"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
