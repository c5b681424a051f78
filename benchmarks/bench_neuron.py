"""Benchmark: a 10-facet neuron (mean preset, 370 iterations each), port batched vs legacy Caffe facet by facet.

Both stacks run CaffeNet with the same deterministic random weights, unit
945 (fc8), ten starts: the original repository's ten mean images of a
neuron when ``--starts DIR`` names their folder (``mean_0.jpg`` ..
``mean_9.jpg``, e.g. ``../shared/data/mfv-original/mean_images/n07720875``),
otherwise the random starts of seeds 1..10; facet n uses seed n.  The
port runs the ten facets as one batch (its default ops, ``torch``); the
legacy pycaffe reference runs them one after another, as the original
scripts did.  Both use ``--threads`` threads (OpenBLAS for Caffe, torch's
intra-op pool for the port).  The ratio is legacy / port wall time (above
1: the port is faster); the legacy time is the sum of the ten jobs' own wall
times, without process start-up.

With ``--judge`` (untimed, afterwards): the batched run is repeated in
lockstep with each facet stepped alone (``parity.batch.batch_lockstep``),
and each batched facet is judged against the legacy noise floor
(``parity.batch.batch_free_run``; the timed legacy runs serve as the
``--threads`` side of the floor when that is 2).

    .venv/bin/python benchmarks/bench_neuron.py [--threads 2] [--starts DIR] [--judge] [--json out.json]
    .venv/bin/python benchmarks/bench_neuron.py --device cuda --port-only      # a GPU's time for the port
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from parity.batch import batch_free_run, batch_lockstep
from parity.reference import run_reference
from parity.stacks import get_stack
from port.atomic import atomic_write_text
from port.caffe import Target, save_caffemodel
from port.imaging import load_rgb
from port.mfv.backends import DEFAULT_OPS, OPS
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet

FACETS = 10


def start_files(folder: Path | None) -> list[Path | None]:
    if folder is None:
        return [None] * FACETS
    paths = [folder / f"mean_{j}.jpg" for j in range(FACETS)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"--starts {folder}: missing {', '.join(missing)}")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--starts", type=Path, help="folder with mean_0.jpg .. mean_9.jpg (default: random starts)")
    parser.add_argument("--ops", choices=sorted(OPS), default=DEFAULT_OPS)
    parser.add_argument("--iterations-scale", type=float, help="shorten the preset (quick checks only)")
    parser.add_argument("--judge", action="store_true", help="afterwards: batch lockstep and the noise-floor verdict")
    parser.add_argument("--device", default="cpu", help="where the port runs (cpu, cuda, cuda:N)")
    parser.add_argument("--port-only", action="store_true", help="time the port alone (e.g. on a GPU machine)")
    parser.add_argument("--stack", default="chroot")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    net = caffenet(seed=0).to(device)
    config = MFVConfig(Target("fc8", 945), preset("mean", iterations_scale=args.iterations_scale))
    seeds = list(range(1, FACETS + 1))
    paths = start_files(args.starts)
    starts = [None if p is None else load_rgb(p) for p in paths]
    stack = None if args.port_only else get_stack(args.stack)
    ops = OPS[args.ops]()
    results = {
        "benchmark": f"{FACETS}-facet neuron, mean preset, port batched vs legacy facet by facet",
        "iterations_per_facet": sum(o.iter_n for o in config.octaves),
        "starts": "random (seeds 1..10)" if args.starts is None else str(args.starts),
        "threads": args.threads,
        "ops": args.ops,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        },
    }
    with tempfile.TemporaryDirectory(prefix="mfv-bench-") as tmp:
        weights = Path(tmp) / "caffenet.caffemodel"
        save_caffemodel(net, CAFFENET_PROTOTXT, weights)
        run_mfv(net, MFVConfig(config.target, preset("mean", iterations_scale=0.01)), [0], ops=ops, progress=False)
        began = time.perf_counter()
        port_runs = run_mfv(net, config, seeds, starts, ops=ops, progress=True)
        port_s = time.perf_counter() - began
        results["port_s"] = port_s
        print(f"port: {FACETS} facets in one batch on {results['machine']['device']}, {port_s:.1f} s", flush=True)
        if stack is None:
            if args.json:
                atomic_write_text(args.json, json.dumps(results, indent=1))
            return 0
        legacy_runs, job_s, with_process_s = [], 0.0, 0.0
        for seed, path in zip(seeds, paths):
            began = time.perf_counter()
            run, _, manifest = run_reference(
                stack, CAFFENET_PROTOTXT, weights, config, seed, path, name="fc8", threads=args.threads
            )
            with_process_s += time.perf_counter() - began
            job_s += manifest["wall_seconds"]["job"]
            legacy_runs.append(run)
            print(f"legacy: facet {seed} done, {job_s:.1f} s so far", flush=True)
        results["legacy_job_s"], results["legacy_with_process_s"] = job_s, with_process_s
        results["legacy_over_port"] = job_s / port_s
        print(
            f"threads={args.threads}: legacy pycaffe {job_s:.1f} s ({with_process_s:.1f} s with process starts), "
            f"port batched {port_s:.1f} s, ratio legacy/port = {job_s / port_s:.2f}x",
            flush=True,
        )
        if args.judge:
            _, lockstep = batch_lockstep(net, config, seeds, starts, ops, progress=True)
            print("batch lockstep:", lockstep.summary, flush=True)
            free = batch_free_run(
                net,
                CAFFENET_PROTOTXT,
                weights,
                config,
                seeds,
                paths,
                starts,
                stack,
                ops,
                name="fc8",
                port_runs=port_runs,
                legacy_two_threads=legacy_runs if args.threads == 2 else None,
            )
            print("batch free run:", free["summary"], flush=True)
            results["batch_lockstep"] = {k: v for k, v in lockstep.as_dict().items() if k != "rows"}
            results["batch_free_run"] = free
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
