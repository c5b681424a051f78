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

The port's time is also split by part: the net's forward + backward
(``activations_and_gradient``), the denoiser, the zoom, and the rest of the
loop (crops, the step itself, bookkeeping), each as a total and per batched
step.  Beside it, the physical bound on the net part: the net's float32
FLOPs per step (``torch.utils.flop_counter`` on the forward at the batch's
size, doubled for the backward to the input) divided by the machine's
float32 GEMM rate, measured here on a square matmul with the same threads.

With ``--judge`` (untimed, afterwards): the batched run is repeated in
lockstep with each facet stepped alone (``parity.comparisons.batch.batch_lockstep``),
and each batched facet is judged against the legacy noise floor
(``parity.comparisons.batch.batch_free_run``; the timed legacy runs serve as the
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import torch
from torch.utils.flop_counter import FlopCounterMode

import port.mfv.step
from parity.comparisons.batch import batch_free_run, batch_lockstep
from parity.comparisons.reference import run_reference
from parity.stacks import get_stack
from parity.stacks.environment import cpu_model
from port.atomic import atomic_write_text
from port.caffe import CaffeNetwork, Target, save_caffemodel
from port.imaging import load_rgb
from port.mfv.backends import DEFAULT_OPS, OPS, LoopOps
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, caffenet

FACETS = 10
GEMM_SIZE = 2048


class PartClock:
    """Seconds spent per named part of the loop; synchronises a GPU before reading the clock."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    def timed(self, part: str, function: Callable) -> Callable:
        def run(*args, **kwargs):
            self._sync()
            began = time.perf_counter()
            result = function(*args, **kwargs)
            self._sync()
            self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - began
            return result

        return run

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


class TimedOps:
    """A loop backend whose zoom and denoiser are timed on a :class:`PartClock`."""

    def __init__(self, ops: LoopOps, clock: PartClock) -> None:
        self.name = ops.name
        self.zoom = clock.timed("zoom", ops.zoom)
        self.denoise = clock.timed("denoiser", ops.denoise)


@contextmanager
def timed_net(clock: PartClock) -> Iterator[None]:
    """Time the net's forward + backward of every step (``port.mfv.step.activations_and_gradient``)."""
    step = port.mfv.step
    with mock.patch.object(step, "activations_and_gradient", clock.timed("net", step.activations_and_gradient)):
        yield


def net_flops(net: CaffeNetwork, config: MFVConfig, batch: int, device: torch.device) -> int:
    """float32 FLOPs of one step's forward and backward to the input, for ``batch`` crops: twice the forward's
    (the backward to the input repeats each convolution's and inner product's FLOPs; no weight gradients)."""
    crops = torch.zeros((batch, 3) + tuple(next(iter(net.inputs.values()))[2:]), device=device)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net.run(crops, end=config.target.layer)
    return 2 * counter.get_total_flops()


def gemm_rate(device: torch.device, repeats: int = 5) -> float:
    """The best float32 FLOP/s of a square matmul over ``repeats`` runs."""
    a = torch.randn(GEMM_SIZE, GEMM_SIZE, device=device)
    clock = PartClock(device)
    multiply = clock.timed("gemm", torch.mm)
    multiply(a, a)
    best = float("inf")
    for _ in range(repeats):
        clock.seconds.clear()
        multiply(a, a)
        best = min(best, clock.seconds["gemm"])
    return 2 * GEMM_SIZE**3 / best


def profile_rows(seconds: dict[str, float], total: float, steps: int) -> list[dict]:
    parts = dict(seconds, other=total - sum(seconds.values()))
    return [
        {"part": part, "s": s, "per_step_s": s / steps, "share": s / total}
        for part, s in sorted(parts.items(), key=lambda item: -item[1])
    ]


def print_profile(rows: Sequence[dict], bound_per_step: float) -> None:
    for row in rows:
        print(
            f"  {row['part']:>8}: {row['s']:7.2f} s, {row['per_step_s'] * 1e3:8.1f} ms/step, {row['share']:6.1%}",
            flush=True,
        )
    print(f"  net bound (FLOPs at the measured GEMM rate): {bound_per_step * 1e3:.1f} ms/step", flush=True)


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
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model(),
        },
    }
    if stack is not None:
        results["legacy_blas"] = {"core": stack.blas_core, "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="mfv-bench-") as tmp:
        weights = Path(tmp) / "caffenet.caffemodel"
        save_caffemodel(net, CAFFENET_PROTOTXT, weights)
        run_mfv(net, MFVConfig(config.target, preset("mean", iterations_scale=0.01)), [0], ops=ops, progress=False)
        clock = PartClock(device)
        with timed_net(clock):
            began = time.perf_counter()
            port_runs = run_mfv(net, config, seeds, starts, ops=TimedOps(ops, clock), progress=True)
            port_s = time.perf_counter() - began
        steps = results["iterations_per_facet"]
        flops, rate = net_flops(net, config, FACETS, device), gemm_rate(device)
        results["port_s"] = port_s
        results["port_profile"] = profile_rows(clock.seconds, port_s, steps)
        results["net_flops_per_step"], results["gemm_float32_flop_per_s"] = flops, rate
        results["net_bound_per_step_s"] = flops / rate
        print(f"port: {FACETS} facets in one batch on {results['machine']['device']}, {port_s:.1f} s", flush=True)
        print(
            f"port per part ({steps} batched steps; net {flops / 1e9:.1f} GFLOP/step, "
            f"float32 GEMM {rate / 1e9:.1f} GFLOP/s):",
            flush=True,
        )
        print_profile(results["port_profile"], flops / rate)
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
