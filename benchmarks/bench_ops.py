"""Benchmark: port.ops.tv_bregman vs scikit-image and port.ops.zoom vs scipy, in one run.

Cases (MFV's): TV Bregman of a (227, 227, 3) float64 RGB image on 0..255
(MFV's random start), weights 0.4 and 2, channels jointly, max 100
iterations, eps 1e-3, one call each and a batch of 10 (weights 0.01 to 2)
against 10 scikit-image calls, each with both kernels (``sequential``, the
CPU default; ``fft``, the GPU default); zoom of a (3, 227, 227) float32 image by 1.2
and 1.0, cubic, against ``scipy.ndimage.zoom(x, (1, s, s))``.  Each figure
is the median over ``--repeats`` timed calls after one warm-up; a ratio is
reference time / port time (above 1: the port is faster).  The machine,
torch's thread count and the load average are printed with the figures.

scipy from 1.16 returns the input unchanged for a zoom of exactly 1, so the
1.0 row times a copy against the port's spline round trip (what scipy 1.6
does, and MFV's legacy stack).

    .venv/bin/python benchmarks/bench_ops.py [--repeats 5] [--threads 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import scipy.ndimage
import skimage
import torch
from skimage.restoration import denoise_tv_bregman

from parity.stacks.environment import cpu_model
from port.atomic import atomic_write_text
from port.ops import tv_bregman, zoom

SIZE = 227
BATCH_WEIGHTS = (0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0)
KERNELS = ("sequential", "fft")


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_tv(image: np.ndarray, weight: float) -> np.ndarray:
    return denoise_tv_bregman(image, weight=weight, max_num_iter=100, eps=1e-3, isotropic=True, channel_axis=None)


def machine() -> dict:
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
    }


def tv_rows(rng: np.random.RandomState, repeats: int) -> list[dict]:
    image = np.clip(rng.normal(175.0, 8.0, (SIZE, SIZE, 3)), 0.0, 255.0)
    rows = []
    for weight in (0.4, 2.0):
        for dtype in (np.float64, np.float32):
            data = image.astype(dtype)
            reference = median_seconds(lambda data=data, weight=weight: reference_tv(data, weight), repeats)
            for method in KERNELS:
                port = median_seconds(
                    lambda data=data, weight=weight, method=method: tv_bregman(data, weight, method=method), repeats
                )
                count = int(tv_bregman(data, weight, return_iterations=True, method=method).iterations)
                rows.append(
                    {
                        "case": f"tv_bregman ({method}) {SIZE}x{SIZE}x3 {np.dtype(dtype).name}, w={weight:g}, joint",
                        "reference_s": reference,
                        "port_s": port,
                        "port_iterations": count,
                    }
                )
    stack = np.clip(rng.normal(175.0, 8.0, (len(BATCH_WEIGHTS), SIZE, SIZE, 3)), 0.0, 255.0)
    reference = median_seconds(lambda: [reference_tv(im, w) for im, w in zip(stack, BATCH_WEIGHTS)], repeats)
    for method in KERNELS:
        port = median_seconds(
            lambda method=method: tv_bregman(stack, BATCH_WEIGHTS, batch=True, method=method), repeats
        )
        rows.append(
            {
                "case": f"tv_bregman ({method}) batch of {len(stack)} (w 0.01..2) vs {len(stack)} scikit-image calls",
                "reference_s": reference,
                "port_s": port,
            }
        )
    return rows


def zoom_rows(rng: np.random.RandomState, repeats: int) -> list[dict]:
    x = rng.uniform(-123.0, 132.0, (3, SIZE, SIZE)).astype(np.float32)
    batch = torch.from_numpy(x)[None]
    rows = []
    for factor in (1.2, 1.0):
        reference = median_seconds(lambda factor=factor: scipy.ndimage.zoom(x, (1, factor, factor)), repeats)
        port = median_seconds(lambda factor=factor: zoom(batch, factor), repeats)
        rows.append(
            {
                "case": f"zoom (3, {SIZE}, {SIZE}) float32 x{factor:g}, cubic"
                + (" (scipy: returns a copy)" if factor == 1.0 else ""),
                "reference_s": reference,
                "port_s": port,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[torch.get_num_threads()],
        help="torch intra-op thread counts to run (default: torch's current one)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    results = {
        "benchmark": "port.ops vs scipy / scikit-image",
        "repeats": args.repeats,
        "machine": machine(),
        "runs": [],
    }
    print(", ".join(f"{k} {v}" for k, v in results["machine"].items()))
    for threads in args.threads:
        torch.set_num_threads(threads)
        rng = np.random.RandomState(args.seed)
        rows = tv_rows(rng, args.repeats) + zoom_rows(rng, args.repeats)
        for row in rows:
            row.update(torch_threads=threads, reference_over_port=row["reference_s"] / row["port_s"])
            print(
                f"torch threads {threads}: {row['case']}: reference {row['reference_s'] * 1e3:.1f} ms, "
                f"port {row['port_s'] * 1e3:.1f} ms, ratio reference/port = {row['reference_over_port']:.2f}x"
            )
        results["runs"] += rows
    results["machine"]["load_average_after"] = list(os.getloadavg())
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
