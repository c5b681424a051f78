"""Benchmark: time per MFV iteration of every network, one run alone and a batch of runs.

Each network with its deterministic random weights at its own input size
(CaffeNet 227, torchvision nets 224), target unit 945 of its class scores,
one octave of ``--iterations`` steps without zoom (the loop's full step:
forward, backward, step, clip, TV denoise), started from the random image
of seed 1.  One warm-up iteration first, not timed.  Batched: ``--batch``
runs of different seeds stepped together; the figure is per iteration of
the whole batch, and per image.

    .venv/bin/python benchmarks/bench_networks.py [--nets caffenet alexnet ...] [--threads 2]
        [--iterations 5] [--batch 4] [--device cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from port.atomic import atomic_write_text
from port.mfv.backends import TorchOps
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import Octave
from port.models import NETS
from port.targets import Target


def seconds_per_iteration(model, octave: Octave, seeds: list[int]) -> float:
    config = MFVConfig(Target(model.class_layer, 945), (octave,), legacy=False)
    run_mfv(model, config, seeds, ops=TorchOps(), progress=False, stop_after=1)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    run_mfv(model, config, seeds, ops=TorchOps(), progress=False)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - began) / octave.iter_n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", nargs="+", default=sorted(NETS), choices=sorted(NETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    octave = Octave(None, None, args.iterations, 0, 0.3, (1.0, 1.0), (2.0, 2.0))
    results = {
        "benchmark": "seconds per MFV iteration, random weights",
        "threads": args.threads,
        "device": args.device,
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "iterations": args.iterations,
        "batch": args.batch,
        "nets": [],
    }
    print(f"{'net':<14} {'input':>6} {'single s/it':>12} {'batch s/it':>11} {'per image':>10}")
    for name in args.nets:
        model = NETS[name](seed=0).to(args.device)
        single = seconds_per_iteration(model, octave, [1])
        batched = seconds_per_iteration(model, octave, list(range(1, args.batch + 1)))
        results["nets"].append(
            {
                "net": name,
                "input": list(model.input_size),
                "single_s_per_iteration": single,
                "batch_s_per_iteration": batched,
                "batch_s_per_image_iteration": batched / args.batch,
            }
        )
        size = f"{model.input_size[0]}"
        print(f"{name:<14} {size:>6} {single:>12.3f} {batched:>11.3f} {batched / args.batch:>10.3f}", flush=True)
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
