"""Lockstep parity of any iterative method: both stacks given the same state at every step.

The method's port loop runs; before each step it hands its state to
:meth:`Lockstep.send`, which passes it to the method's long-lived legacy worker
so that the legacy stack steps while the port does; after the step
:meth:`Lockstep.judge` receives the worker's stages, measures each stage of the
method (:func:`parity.judges.stages.stage_figures`) and asks the method for the
step's row.  The engine's rule: a step whose stages are not all within
tolerance passes only when the method attributes it to a cause it proved;
one the method calls ``pass`` anyway is failed here.  Events between steps
(MFV's zoom) go through :meth:`Lockstep.ask` and are recorded by the method as
checks.  Nothing accumulates: the next step starts from the port's state again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from parity.engine.method import Answer, Check, IterativeMethod, StepRow
from parity.judges.stages import stage_figures, within_tolerance
from parity.judges.verdict import FAIL, PASS, Verdict


class Worker(Protocol):
    """The legacy side of a lockstep: ``parity.stacks.LegacyWorker``, or a stand-in in tests."""

    def send(self, header: dict, arrays: Mapping[str, np.ndarray] | None = None) -> None: ...

    def receive(self) -> tuple[dict, dict[str, np.ndarray]]: ...


class Lockstep:
    """One lockstep in progress: the method, its worker, the tolerances of its stages, and the rows and
    checks judged so far."""

    def __init__(self, method: IterativeMethod, worker: Worker, tolerances: Mapping[str, float]) -> None:
        self.method, self.worker, self.tolerances = method, worker, tolerances
        self.rows: list[StepRow] = []
        self.checks: list[Check] = []

    def ask(self, header: dict, arrays: Mapping[str, np.ndarray] | None = None) -> Answer:
        """A request answered at once (an event between steps)."""
        self.worker.send(header, arrays)
        return Answer(*self.worker.receive())

    def send(self, header: dict, state: Mapping[str, np.ndarray]) -> None:
        """The state a step starts from, sent before the port steps so that both stacks step at once."""
        self.worker.send(header, state)

    def judge(self, port: Mapping[str, np.ndarray], context: Any = None) -> StepRow:
        """Receive the worker's step, measure every stage against the port's, and record the method's row."""
        answer = Answer(*self.worker.receive())
        stages = self.method.stages
        missing = [s.name for s in stages if s.name not in answer.arrays or s.name not in port]
        if missing:
            raise ValueError(f"{self.method.name} lockstep: stage(s) {', '.join(missing)} missing from a step")
        measured = stage_figures(stages, answer.arrays, port)
        within = within_tolerance(stages, measured, self.tolerances)
        row = self.method.judge(context, port, answer, measured, within, self)
        if not within and row.verdict == PASS:
            raise RuntimeError(f"{self.method.name}: a step beyond tolerance was judged pass without a proved cause")
        self.rows.append(row)
        return row

    def section(self) -> LockstepSection:
        return LockstepSection(self.method, list(self.rows), list(self.checks))


@dataclass(frozen=True)
class LockstepSection:
    """Every step and check of a lockstep (or of a replay), judged."""

    method: IterativeMethod = field(repr=False)
    rows: list[StepRow]
    checks: list[Check]

    @property
    def verdicts(self) -> dict[str, int]:
        return dict(sorted(Counter(row.verdict for row in self.rows).items()))

    @property
    def passed(self) -> bool:
        return self.verdicts.get(FAIL, 0) == 0 and all(check.passed for check in self.checks)

    def as_dict(self) -> dict:
        return (
            {"steps": len(self.rows), "verdicts": self.verdicts}
            | self.method.summarise(self)
            | {"pass": self.passed, "rows": [row.as_dict() for row in self.rows]}
        )

    def verdict(self) -> Verdict:
        """Pass when no step failed and every check passed; the line says how many steps were within
        tolerance, attributed (to what) and unexplained."""
        counts = dict(self.verdicts)
        within = counts.pop(PASS, 0)
        unexplained = counts.pop(FAIL, 0)
        attributed = ", ".join(f"{n} to {cause}" for cause, n in counts.items()) or "none attributed"
        bookkeeping, margin = self.method.lockstep_notes(self)
        return Verdict(
            self.passed,
            f"{len(self.rows)} lockstep steps; {bookkeeping}; {within} within tolerance ({margin}); {attributed}; "
            f"{unexplained} unexplained",
        )


def run_lockstep(
    method: IterativeMethod,
    worker: Worker,
    tolerances: Mapping[str, float],
    *,
    progress: bool = False,
    stop_after: int | None = None,
) -> tuple[Any, Lockstep]:
    """The method's port run stepped in lockstep with ``worker``; returns the run and the lockstep."""
    lockstep = Lockstep(method, worker, tolerances)
    run = method.run_port(lockstep, progress=progress, stop_after=stop_after)
    return run, lockstep
