"""Benchmark: one MFV facet (the mean preset, 370 iterations), port vs the legacy pycaffe reference.

Both run CaffeNet with the same deterministic random weights, unit 945, the
random start of seed 1, in one run of this script, with the same thread
count (OpenBLAS threads for Caffe, torch intra-op threads for the port).
Prints wall seconds and the ratio legacy / port (above 1: the port is
faster).  The port's ops are named by ``--ops``.

    .venv/bin/python benchmarks/bench_facet.py [--threads 2] [--ops torch] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from parity.comparisons.reference import run_reference
from parity.stacks import get_stack
from port.atomic import atomic_write_text
from port.caffe import Target, save_caffemodel
from port.mfv.backends import DEFAULT_OPS, OPS
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--ops", choices=sorted(OPS), default=DEFAULT_OPS)
    parser.add_argument("--iterations-scale", type=float, help="shorten the preset (quick checks only)")
    parser.add_argument("--stack", default="chroot")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    net = caffenet(seed=0)
    config = MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=args.iterations_scale))
    stack = get_stack(args.stack)
    results = {
        "benchmark": "one MFV facet, mean preset",
        "iterations": sum(o.iter_n for o in config.octaves),
        "ops": args.ops,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="mfv-bench-") as tmp:
        weights = Path(tmp) / "caffenet.caffemodel"
        save_caffemodel(net, CAFFENET_PROTOTXT, weights)
        for threads in args.threads:
            torch.set_num_threads(threads)
            began = time.perf_counter()
            run_mfv(net, config, [1], ops=OPS[args.ops](), progress=False)
            port_s = time.perf_counter() - began
            began = time.perf_counter()
            _, _, manifest = run_reference(
                stack, CAFFENET_PROTOTXT, weights, config, 1, None, name="fc8", threads=threads
            )
            legacy_total = time.perf_counter() - began
            legacy_s = manifest["wall_seconds"]["job"]
            results["runs"].append(
                {
                    "threads": threads,
                    "port_s": port_s,
                    "legacy_job_s": legacy_s,
                    "legacy_with_process_s": legacy_total,
                    "legacy_over_port": legacy_s / port_s,
                }
            )
            print(
                f"threads={threads}: legacy pycaffe {legacy_s:.1f} s (job; {legacy_total:.1f} s with process start), "
                f"port ({args.ops} ops) {port_s:.1f} s, ratio legacy/port = {legacy_s / port_s:.2f}x"
            )
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
