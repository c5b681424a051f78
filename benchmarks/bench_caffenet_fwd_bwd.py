"""Benchmark: CaffeNet forward + backward (one-hot at fc8 to the data), port vs legacy Caffe.

Both stacks run the same random weights and input in one run of this script,
with the same number of threads (OpenBLAS threads for Caffe, intra-op
threads for torch), and report median seconds per forward+backward pass.
The ratio legacy / port above 1 means the port is faster.

Debian bullseye's OpenBLAS 0.3.13 may not recognise a newer CPU and fall
back to its generic Prescott kernel (the manifest records ``corename``);
that is the legacy reference as it runs.  ``--coretype Haswell`` adds a
legacy run with OpenBLAS forced onto its AVX2 kernel, Caffe at its best.

    .venv/bin/python benchmarks/bench_caffenet_fwd_bwd.py [--repeats 20] [--threads 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from parity.stacks import get_stack
from port.atomic import atomic_write_text
from port.caffe import Target, input_gradient, save_caffemodel
from port.imaging import preprocess, random_start
from port.models import CAFFENET_PROTOTXT, caffenet

TARGET = Target("fc8", 945)


def time_port(x: torch.Tensor, repeats: int, warmup: int, threads: int) -> list[float]:
    torch.set_num_threads(threads)
    net = caffenet(seed=0)
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        input_gradient(net, x, TARGET)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--stack", default="chroot")
    parser.add_argument("--coretype", help="also time legacy Caffe with OPENBLAS_CORETYPE set to this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    stacks = {"default kernel": get_stack(args.stack)}
    if args.coretype:
        stacks[f"OPENBLAS_CORETYPE={args.coretype}"] = get_stack(args.stack, blas_core=args.coretype)
    x_np = preprocess(random_start(0).astype(np.float32))[None]
    net = caffenet(seed=0)
    results = {"benchmark": "caffenet forward+backward (fc8 one-hot to data)", "repeats": args.repeats, "runs": []}
    with tempfile.TemporaryDirectory(prefix="mfv-bench-") as tmp:
        weights, input_path = Path(tmp) / "caffenet.caffemodel", Path(tmp) / "input.npy"
        save_caffemodel(net, CAFFENET_PROTOTXT, weights)
        np.save(input_path, x_np)
        for threads in args.threads:
            port_s = statistics.median(time_port(torch.from_numpy(x_np), args.repeats, args.warmup, threads))
            for label, stack in stacks.items():
                legacy = stack.run(
                    "bench_fwd_bwd",
                    {"repeats": args.repeats, "warmup": args.warmup, "target": TARGET.__dict__},
                    {"prototxt": CAFFENET_PROTOTXT, "weights": weights, "input": input_path},
                    threads=threads,
                    timeout=1800,
                )
                legacy_s = statistics.median(legacy.manifest["job"]["seconds"])
                corename = legacy.manifest["environment"]["blas"]["openblas"].get("corename")
                results["runs"].append(
                    {
                        "threads": threads,
                        "legacy": label,
                        "openblas_core": corename,
                        "legacy_median_s": legacy_s,
                        "port_median_s": port_s,
                        "legacy_over_port": legacy_s / port_s,
                    }
                )
                print(
                    f"threads={threads}: legacy Caffe ({label}, OpenBLAS {corename}) {legacy_s * 1e3:.1f} ms, "
                    f"port {port_s * 1e3:.1f} ms, ratio legacy/port = {legacy_s / port_s:.2f}x"
                )
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
