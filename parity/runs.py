"""``mfv parity run``: lockstep (level 4) and free-run (level 5) parity of the MFV loop."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from parity.attribution import DENOISER, FAIL, PASS
from parity.environment import file_digest, port_manifest
from parity.freerun import divergence, first_divergence, image_figures, trace_agreement, within_floor
from parity.lockstep import LockstepObserver, LockstepTolerances
from parity.reference import reference_params, run_reference
from parity.stacks import LegacyStack
from parity.tolerances import Tolerances
from port.caffe import CaffeNetwork
from port.mfv.backends import LoopOps, TorchOps
from port.mfv.loop import MFVConfig, MFVRun, run_mfv

REPLAY_CAP = 60


@dataclass
class RunSetup:
    """Everything both stacks need for one run."""

    net: CaffeNetwork
    prototxt: Path
    weights: Path
    config: MFVConfig
    seed: int
    start_path: Path | None
    start: np.ndarray | None
    name: str


def lockstep(
    setup: RunSetup,
    stack: LegacyStack,
    *,
    threads: int,
    ops: LoopOps,
    tol: LockstepTolerances,
    progress: bool,
    stop_after: int | None = None,
) -> tuple[MFVRun, LockstepObserver]:
    """The port's run with every zoom and step mirrored by the legacy worker."""
    params = reference_params(setup.config, setup.seed, setup.name)
    with stack.worker(
        "mfv_lockstep", params, {"prototxt": setup.prototxt, "weights": setup.weights}, threads=threads
    ) as worker:
        observer = LockstepObserver(setup.net, setup.config.octaves, worker, ops, tol)
        (run,) = run_mfv(
            setup.net,
            setup.config,
            [setup.seed],
            [setup.start],
            ops=ops,
            progress=progress,
            observer=observer,
            stop_after=stop_after,
        )
    return run, observer


def lockstep_section(observer: LockstepObserver) -> dict:
    rows = observer.steps
    verdicts = Counter(row.verdict for row in rows)
    passing = [row.judgement.denoised_abs for row in rows if row.verdict == PASS]
    return {
        "steps": len(rows),
        "verdicts": dict(sorted(verdicts.items())),
        "offsets_identical": all(r.port_offsets == r.legacy_offsets for r in rows),
        "schedules_identical": all(r.port_schedule == r.legacy_schedule for r in rows),
        "max_denoised_abs_of_passing_steps": max(passing, default=0.0),
        "zooms": observer.zooms,
        "pass": verdicts.get(FAIL, 0) == 0 and all(z["pass"] for z in observer.zooms),
        "rows": [row.as_dict() for row in rows],
    }


def describe_event(row: dict) -> str:
    """One lockstep step's non-pass verdict in words."""
    where = f"iteration {row['iteration']} (octave {row['octave'] + 1}, step {row['i']})"
    if row["verdict"] == FAIL:
        return f"unexplained difference at {where}: denoised crops differ by {row['denoised_abs']:.3g} grey levels"
    events = [
        f"max-pool argmax flip in {t['layer']} channel {t['channel']} window ({t['row']}, {t['col']})"
        for t in row["ties"][:3]
    ]
    events += [
        f"ReLU sign flip in {f['layer']} ({f['units']} unit(s), |value| <= {f['max_abs_value']:.2g})"
        for f in row["relu_flips"]
    ]
    parts = []
    if events:
        parts.append(
            f"{'; '.join(events)} at {where}; the port following Caffe's choices agrees to "
            f"{row['gradient_rel_forced']:.2g} (gradient, relative)"
        )
    if DENOISER in row["verdict"].split("+"):
        port_its, caffe_its = row["iterations"]
        parts.append(
            f"denoising difference at {where}: the stepped and clipped crops agree "
            f"({row['followed_clipped_abs']:.2g} grey levels), the denoisers are one function "
            f"({row['same_denoiser_abs']:.2g} grey levels on the same input), and split Bregman stopped after "
            f"{port_its} iterations on the port's crop and {caffe_its} on Caffe's, which took a "
            f"{row['followed_clipped_abs']:.2g} grey-level input difference to {row['followed_denoised_abs']:.2g}"
        )
    return "; then ".join(parts)


def free_section(
    setup: RunSetup, port: MFVRun, legacy: MFVRun, floor: MFVRun | None, tol: Tolerances, replay: dict | None
) -> dict:
    free_tol = tol.table["free_run"]
    port_fig = image_figures(legacy.image, port.image)
    section = {
        "port_vs_legacy": port_fig.as_dict(),
        "trace": trace_agreement(legacy, port),
        "divergence": {"port_vs_legacy": divergence(legacy, port)},
        "non_finite": {"port": port.non_finite_cause(), "legacy": legacy.non_finite_cause()},
    }
    first = first_divergence(legacy, port, free_tol["divergence_rel"])
    section["first_divergence"] = {"iteration": first, "cause": _cause(first, replay)}
    if floor is not None:
        floor_fig = image_figures(legacy.image, floor.image)
        section["noise_floor"] = floor_fig.as_dict()
        section["divergence"]["legacy_2_threads_vs_1"] = divergence(legacy, floor)
        section["floor_first_divergence"] = first_divergence(legacy, floor, free_tol["divergence_rel"])
        section["within_floor"] = within_floor(
            port_fig, floor_fig, free_tol["psnr_margin_db"], free_tol["within_one_margin"]
        )
    return section


def _cause(first: int | None, replay: dict | None) -> str:
    if first is None:
        return "the runs never part beyond the divergence tolerance"
    if replay is None:
        return "not attributed (no lockstep replay)"
    events = [row for row in replay["rows"] if row["verdict"] != PASS and row["iteration"] <= first]
    if events:
        return describe_event(events[0])
    return (
        f"no single event in the lockstep replay of iterations 0-{replay['steps'] - 1}: every step agrees "
        f"within tolerance, so rounding-level differences grew until iteration {first}"
    )


def run_parity(
    setup: RunSetup,
    stack: LegacyStack,
    *,
    mode: str,
    threads: int = 1,
    floor: bool = True,
    ops: LoopOps | None = None,
    tol: Tolerances | None = None,
    progress: bool = True,
) -> tuple[dict, dict]:
    """Run lockstep or free-run parity; return the report and its images (name -> H x W x 3 array)."""
    if mode not in ("lockstep", "free"):
        raise ValueError(f"mode must be 'lockstep' or 'free', not {mode!r}")
    ops = ops or TorchOps()
    tol = tol or Tolerances.load()
    step_tol = LockstepTolerances.from_table(tol.table)
    report = _header(setup, stack, mode, threads, ops, tol)
    if mode == "lockstep":
        port, observer = lockstep(setup, stack, threads=threads, ops=ops, tol=step_tol, progress=progress)
        report["lockstep"] = lockstep_section(observer)
        report["verdict"] = _verdict_lockstep(report["lockstep"])
        return report, {"port": port.image}
    with ThreadPoolExecutor(max_workers=2) as pool:
        legacy_jobs = [
            pool.submit(
                run_reference,
                stack,
                setup.prototxt,
                setup.weights,
                setup.config,
                setup.seed,
                setup.start_path,
                name=setup.name,
                threads=n,
            )
            for n in ([threads, 3 - threads] if floor and threads in (1, 2) else [threads])
        ]
        (port,) = run_mfv(setup.net, setup.config, [setup.seed], [setup.start], ops=ops, progress=progress)
        legacy, _, legacy_manifest = legacy_jobs[0].result()
        other = legacy_jobs[1].result()[0] if len(legacy_jobs) > 1 else None
    report["environment"]["legacy"] = legacy_manifest["environment"]
    first = first_divergence(legacy, port, tol.table["free_run"]["divergence_rel"])
    replay = None
    if first is not None:
        _, observer = lockstep(
            setup, stack, threads=threads, ops=ops, tol=step_tol, progress=False, stop_after=min(first + 1, REPLAY_CAP)
        )
        replay = lockstep_section(observer)
        report["lockstep_replay"] = replay
    report["free"] = free_section(setup, port, legacy, other, tol, replay)
    report["verdict"] = _verdict_free(report["free"])
    images = {"port": port.image, "legacy": legacy.image}
    if other is not None:
        images["legacy, other thread count"] = other.image
    return report, images


def _header(setup: RunSetup, stack: LegacyStack, mode: str, threads: int, ops: LoopOps, tol: Tolerances) -> dict:
    return {
        "kind": "run",
        "mode": mode,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": {
            "prototxt": file_digest(setup.prototxt),
            "weights": file_digest(setup.weights),
            "weights_description": setup.net.weights_description,
            "target": str(setup.config.target),
            "legacy": setup.config.legacy,
            "octaves": [o.as_dict() for o in setup.config.octaves],
            "seed": setup.seed,
            "start": None if setup.start_path is None else file_digest(setup.start_path),
            "legacy_stack": stack.name,
            "legacy_blas_threads": threads,
            "port_ops": ops.name,
        },
        "tolerances": {"source": tol.source, "lockstep": tol.table["lockstep"], "free_run": tol.table["free_run"]},
        "environment": {"port": port_manifest(), "legacy": None},
    }


def _verdict_lockstep(section: dict) -> dict:
    v = dict(section["verdicts"])
    within = v.pop(PASS, 0)
    unexplained = v.pop(FAIL, 0)
    attributed = ", ".join(f"{n} to {k}" for k, n in v.items()) or "none attributed"
    summary = (
        f"{'PASS' if section['pass'] else 'FAIL'}: {section['steps']} lockstep steps; offsets "
        f"{'identical' if section['offsets_identical'] else 'DIFFER'}, schedules "
        f"{'identical' if section['schedules_identical'] else 'DIFFER'}; {within} within tolerance "
        f"(max {section['max_denoised_abs_of_passing_steps']:.2g} grey levels); {attributed}; "
        f"{unexplained} unexplained"
    )
    return {"pass": section["pass"], "summary": summary}


def _verdict_free(section: dict) -> dict:
    port = section["port_vs_legacy"]
    summary = (
        f"port vs legacy: {port['within_one']:.1%} of values within one grey level, PSNR {port['psnr_db']:.1f} dB, "
        f"first divergence at iteration {section['first_divergence']['iteration']}"
    )
    ok = section["trace"]["offsets_and_schedules_identical"]
    if "noise_floor" in section:
        floor = section["noise_floor"]
        summary += (
            f"; legacy vs itself (other BLAS thread count): {floor['within_one']:.1%} within one grey level, "
            f"PSNR {floor['psnr_db']:.1f} dB -> port {'WITHIN' if section['within_floor'] else 'OUTSIDE'} "
            "the legacy noise floor"
        )
        ok = ok and section["within_floor"]
    return {"pass": ok, "summary": ("PASS: " if ok else "FAIL: ") + summary}
