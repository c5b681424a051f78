"""Benchmark: a class's worth of images through codes, PCA, t-SNE, k-means and the facets directory.

Generates ``--images`` (default 1,300, an ImageNet class) smooth random
colour images of 227 x 227 as JPEGs, then times each stage of
``make_facets`` on CaffeNet's deterministic random weights (speed does not
depend on the weights) and reports wall seconds per stage and peak memory:
per stage, the peak resident set of the whole process (Linux ``VmHWM``,
reset before each stage through ``/proc/self/clear_refs``; where that is
not possible, the running ``ru_maxrss``) and the peak of numpy/Python
allocations (``tracemalloc``); and the whole run's peak, the largest of
those (``ru_maxrss`` follows the reset mark, so it cannot give it alone).

    .venv/bin/python benchmarks/bench_facets.py [--images 1300] [--layer fc7] [--k 10] [--m 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from parity.stacks.environment import cpu_model
from port.atomic import atomic_write_text
from port.facets.cluster import check_counts, cluster_embedding, embed_tsne, reduce_pca
from port.facets.codes import compute_codes
from port.facets.images import list_images
from port.facets.make import describe_run
from port.facets.outputs import write_facets_dir
from port.models import caffenet


def generate_images(folder: Path, count: int, size: int, seed: int) -> None:
    """``count`` JPEGs of ``size`` x ``size``: random 6 x 6 colour fields upsampled, plus pixel noise."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        field = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
        noisy = np.asarray(field, dtype=np.float64) + rng.normal(0, 10, (size, size, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(folder / f"img_{i:05d}.jpg", quality=90)


def max_rss_mib() -> float:
    """The process's peak resident set since it started, MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(field: str) -> float | None:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    values = [line.split()[1] for line in lines if line.startswith(f"{field}:")]
    return int(values[0]) / 1024 if values else None


def reset_peak_rss() -> bool:
    """Reset Linux's peak-RSS mark (``VmHWM``) to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def timed(stages: list[dict[str, Any]], name: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``, append its wall time and memory peaks to ``stages``, return its result."""
    resettable = reset_peak_rss()
    rss_before = _status_mib("VmRSS")
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    peak = _status_mib("VmHWM") if resettable else None
    stages.append(
        {
            "stage": name,
            "seconds": round(seconds, 3),
            "traced_peak_mib": round(traced_peak, 1),
            "rss_before_mib": rss_before and round(rss_before, 1),
            "peak_rss_mib": round(peak if peak is not None else max_rss_mib(), 1),
            "peak_rss_source": "VmHWM of the stage" if peak is not None else "ru_maxrss so far",
        }
    )
    print(
        f"{name:>15}: {seconds:8.2f} s   traced peak {traced_peak:7.1f} MiB   "
        f"RSS {rss_before or float('nan'):7.1f} -> peak {stages[-1]['peak_rss_mib']:7.1f} MiB "
        f"({stages[-1]['peak_rss_source']})",
        flush=True,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1300)
    parser.add_argument("--size", type=int, default=227, help="side of the generated images (default 227)")
    parser.add_argument("--layer", default="fc7")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures here (atomically)")
    args = parser.parse_args()
    check_counts(args.images, args.k, args.m)

    net = caffenet()
    stages: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mfv-bench-facets-") as tmp:
        folder, out = Path(tmp) / "images", Path(tmp) / "facets"
        folder.mkdir()
        print(f"generating {args.images} images of {args.size} x {args.size} ...", flush=True)
        generate_images(folder, args.images, args.size, args.seed)
        load_at_start = [round(load, 2) for load in os.getloadavg()]
        start = time.perf_counter()
        codes = timed(stages, "codes", lambda: compute_codes(net, list_images(folder), args.layer, args.batch_size))
        reduced = timed(stages, "PCA", lambda: reduce_pca(codes.values))
        embedding = timed(stages, "t-SNE", lambda: embed_tsne(reduced, args.seed))
        clustering = timed(
            stages, "k-means+nearest", lambda: cluster_embedding(embedding, args.k, args.m, args.seed, reduced.shape[1])
        )
        run = describe_run(net, folder, args.layer, args.k, args.m, args.seed, args.batch_size)
        timed(stages, "outputs", lambda: write_facets_dir(out, codes, clustering, run, progress=False))
        total = time.perf_counter() - start
    figures = {
        "benchmark": "facets: codes + PCA + t-SNE + k-means + outputs",
        "images": args.images,
        "size": args.size,
        "layer": args.layer,
        "k": args.k,
        "m": args.m,
        "batch_size": args.batch_size,
        "torch_threads": run.torch_threads,
        "versions": run.versions,
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "stages": stages,
        "total_seconds": round(total, 3),
        "peak_rss_mib": max(max_rss_mib(), *(stage["peak_rss_mib"] for stage in stages)),
    }
    print(
        f"{'total':>15}: {total:8.2f} s   peak RSS {figures['peak_rss_mib']:.1f} MiB (interpreter, libraries and net "
        f"included)"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(figures, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
