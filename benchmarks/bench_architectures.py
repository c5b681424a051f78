"""Benchmark: every published Caffe architecture, forward and forward+backward, port vs Caffe vs onnxruntime.

For each net (deterministic random weights, batch 1, the layers parity's
input) one run of this script times, with the same number of threads
everywhere (torch intra-op threads, Caffe's OpenBLAS threads, onnxruntime
intra-op threads):

* the port: forward (no autograd) and forward + backward of a one-hot at
  the score blob to the data (``port.caffe.input_gradient``);
* legacy Caffe: the same two (``bench_fwd_bwd`` job, ``backward`` false/true);
* onnxruntime: forward of the ONNX export (``port.onnx``, the net's results
  as outputs).

It prints median milliseconds and the ratios Caffe / port and onnxruntime /
port (above 1: the port is faster).

    .venv/bin/python benchmarks/bench_architectures.py [--nets caffe_resnet50 ...] [--repeats 5] [--threads 1]
        [--json out.json] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from tqdm import tqdm

from parity.comparisons.layers import make_input
from parity.stacks import get_stack
from port.atomic import atomic_write_text
from port.caffe import input_gradient, save_caffemodel
from port.models import NETS, score_target, write_zoo_prototxt
from port.models.caffe_zoo import SCORE_LAYERS
from port.onnx import export_onnx


def median_seconds(step: Callable[[], object], repeats: int, warmup: int) -> float:
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_net(name: str, args: argparse.Namespace, stack, tmp: Path) -> dict:
    prototxt = write_zoo_prototxt(name, tmp / f"{name}.prototxt")
    weights, input_path = tmp / f"{name}.caffemodel", tmp / f"{name}.npy"
    net = NETS[name](seed=0)
    save_caffemodel(net, prototxt, weights)
    x_np, _ = make_input(net, None, 0)
    np.save(input_path, x_np)
    x, target = torch.from_numpy(x_np), score_target(name, 7)

    def forward() -> None:
        with torch.no_grad():
            net.forward(x)

    port_fwd = median_seconds(forward, args.repeats, args.warmup)
    port_bwd = median_seconds(lambda: input_gradient(net, x, target), args.repeats, args.warmup)
    export = export_onnx(net)
    feeds = {"data": x_np}
    ort_fwd = _ort_median(export.model, feeds, args)
    legacy = {}
    for backward in (False, True):
        job = stack.run(
            "bench_fwd_bwd",
            {"repeats": args.repeats, "warmup": args.warmup, "target": target.__dict__, "backward": backward},
            {"prototxt": prototxt, "weights": weights, "input": input_path},
            threads=args.threads,
            timeout=3600,
        )
        legacy[backward] = statistics.median(job.manifest["job"]["seconds"])
    return {
        "net": name,
        "port_forward_s": port_fwd,
        "port_forward_backward_s": port_bwd,
        "caffe_forward_s": legacy[False],
        "caffe_forward_backward_s": legacy[True],
        "onnxruntime_forward_s": ort_fwd,
        "caffe_over_port_forward": legacy[False] / port_fwd,
        "caffe_over_port_forward_backward": legacy[True] / port_bwd,
        "onnxruntime_over_port_forward": ort_fwd / port_fwd,
    }


def _ort_median(model, feeds: dict, args: argparse.Namespace) -> float:
    """Median onnxruntime forward seconds with one session (its creation not timed)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return median_seconds(lambda: session.run(None, feeds), args.repeats, args.warmup)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=list(SCORE_LAYERS), choices=list(SCORE_LAYERS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--stack", default="chroot")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stack = get_stack(args.stack)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mfv-bench-arch-") as tmp:
        for name in tqdm(args.nets, desc="architectures", disable=args.quiet):
            rows.append(bench_net(name, args, stack, Path(tmp)))
            r = rows[-1]
            tqdm.write(
                f"{name:20s} port {r['port_forward_s'] * 1e3:8.1f} / {r['port_forward_backward_s'] * 1e3:8.1f} ms, "
                f"Caffe {r['caffe_forward_s'] * 1e3:8.1f} / {r['caffe_forward_backward_s'] * 1e3:8.1f} ms, "
                f"onnxruntime {r['onnxruntime_forward_s'] * 1e3:8.1f} ms (forward / forward+backward); "
                f"Caffe/port {r['caffe_over_port_forward']:.2f}x / {r['caffe_over_port_forward_backward']:.2f}x, "
                f"onnxruntime/port {r['onnxruntime_over_port_forward']:.2f}x"
            )
    if args.json:
        results = {
            "benchmark": "architectures, batch 1",
            "threads": args.threads,
            "repeats": args.repeats,
            "runs": rows,
        }
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
