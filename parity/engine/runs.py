"""Lockstep and free-run parity of an iterative method, as one report (``mfv parity run`` for MFV).

``lockstep``: the port's run with every step mirrored by the method's legacy
worker (:mod:`parity.engine.lockstep`).  ``free``: whole runs on both stacks
with the legacy noise floor (:mod:`parity.engine.free`) and, where the runs
part, a lockstep replay of the first :data:`REPLAY_CAP` iterations at most, up
to the first divergence, that names its cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

import numpy as np

from parity.engine.free import FreeSection, free_runs, free_section
from parity.engine.lockstep import Lockstep, LockstepSection, run_lockstep
from parity.engine.method import IterativeMethod
from parity.judges.runs import first_divergence
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import Report
from parity.stacks import LegacyStack
from parity.stacks.environment import port_manifest

REPLAY_CAP = 60


@dataclass(frozen=True)
class RunReport(Report):
    """Level 4 (``mode`` lockstep: ``lockstep``) or 5 (free: ``free``, and ``lockstep_replay`` up to the first
    divergence when the runs part); ``inputs``: the method's; :meth:`as_dict` is ``report.json``."""

    kind: ClassVar[str] = "run"
    mode: str
    lockstep: LockstepSection | None = None
    lockstep_replay: LockstepSection | None = None
    free: FreeSection | None = None

    def head(self) -> dict:
        return {"kind": self.kind, "mode": self.mode} | super().head()

    def sections(self) -> dict:
        named = {"lockstep": self.lockstep, "lockstep_replay": self.lockstep_replay, "free": self.free}
        return {key: section.as_dict() for key, section in named.items() if section is not None}


def lockstep(
    method: IterativeMethod,
    stack: LegacyStack,
    *,
    threads: int,
    tol: Tolerances,
    progress: bool,
    stop_after: int | None = None,
) -> tuple[Any, Lockstep]:
    """The port's run with every step mirrored by the method's worker on ``stack`` (``threads`` BLAS threads)."""
    params, inputs = method.worker_job()
    with stack.worker(method.worker_kind, params, inputs, threads=threads) as worker:
        return run_lockstep(method, worker, tol.table[method.tolerance_entry], progress=progress, stop_after=stop_after)


def run_parity(
    method: IterativeMethod,
    stack: LegacyStack,
    inputs: Any,
    *,
    mode: str,
    threads: int = 1,
    floor: bool = True,
    tol: Tolerances | None = None,
    progress: bool = True,
) -> tuple[RunReport, dict[str, np.ndarray]]:
    """Run lockstep or free-run parity of ``method``; return the report (``inputs``: what both stacks ran, for
    it) and its final images by name."""
    if mode not in ("lockstep", "free"):
        raise ValueError(f"mode must be 'lockstep' or 'free', not {mode!r}")
    tol = tol or Tolerances.load()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = method.tolerance_entry
    tolerances = {"source": tol.source, entry: tol.table[entry], "free_run": tol.table["free_run"]}
    if mode == "lockstep":
        port, stepped = lockstep(method, stack, threads=threads, tol=tol, progress=progress)
        section = stepped.section()
        environment = {"port": port_manifest(), "legacy": None}
        report = RunReport(created, inputs, tolerances, environment, section.verdict(), mode, lockstep=section)
        return report, {"port": method.outcome(port).image}
    runs = free_runs(method, stack, threads=threads, floor=floor, progress=progress)
    port, legacy = method.outcome(runs.port), method.outcome(runs.legacy)
    environment = {"port": port_manifest(), "legacy": runs.legacy_manifest["environment"]}
    first = first_divergence(legacy, port, tol.table["free_run"]["divergence_rel"])
    replay = None
    if first is not None:
        _, replayed = lockstep(
            method, stack, threads=threads, tol=tol, progress=False, stop_after=min(first + 1, REPLAY_CAP)
        )
        replay = replayed.section()
    other = None if runs.other_threads is None else method.outcome(runs.other_threads)
    other_kernel = None if runs.other_kernel is None else (runs.other_kernel[0], method.outcome(runs.other_kernel[1]))
    free = free_section(port, legacy, other, tol.table["free_run"], replay, other_kernel)
    report = RunReport(
        created, inputs, tolerances, environment, free.verdict(), mode, lockstep_replay=replay, free=free
    )
    images = {"port": port.image, "legacy": legacy.image}
    if other is not None:
        images["legacy, other thread count"] = other.image
    if other_kernel is not None:
        images[f"legacy, {other_kernel[0]} kernel"] = other_kernel[1].image
    return report, images
