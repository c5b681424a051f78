"""What an iterative method gives the parity engine: its state, its step on each side, its stages.

An iterative method (MFV, DGN-AM, a PPGN chain, a nudged elastic band ...)
is proved the same way whatever it computes: in *lockstep* (both stacks are
given the port's state before every step, and each stage of the step is
compared: error without accumulation), and as *free runs* set beside the
legacy stack's own spread (:mod:`parity.engine.free`).  The engine does the
driving, the measuring and the judging rules; a method supplies only this
interface:

* its **legacy side**: the job kind of its long-lived worker in
  ``legacy_caffe`` (one worker loop, :mod:`legacy_caffe.worker`, with the
  method's step function) and that job's parameters and input files;
* its **port side**: :meth:`IterativeMethod.run_port`, its own loop, which
  hands the engine each step's state before it steps
  (:meth:`parity.engine.Lockstep.send`) and its stages after
  (:meth:`parity.engine.Lockstep.judge`);
* its **stages** (:class:`parity.judges.stages.Stage`: name, measure,
  tolerance key) and the tolerance table entry that holds their limits;
* how a step that is not within tolerance is **attributed**
  (:meth:`IterativeMethod.judge`): the engine fails every such step the
  method does not excuse with a cause it proved;
* for free runs: a legacy run, and each run seen as a
  :class:`parity.judges.runs.RunOutcome`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from parity.judges.runs import RunOutcome
from parity.judges.stages import Stage
from parity.stacks import LegacyStack

RunT = TypeVar("RunT")


@dataclass(frozen=True)
class Answer:
    """The legacy worker's answer to one request: its header and its arrays."""

    header: dict
    arrays: dict[str, np.ndarray]


class StepRow(Protocol):
    """A judged lockstep step, as a method records it: its iteration, its verdict (``pass``, ``fail`` or the
    causes proved, joined by ``+``) and its ``report.json`` row."""

    @property
    def iteration(self) -> int: ...

    @property
    def verdict(self) -> str: ...

    def as_dict(self) -> dict: ...


class Check(Protocol):
    """An event between steps compared once (MFV's zoom): whether it agreed, and its ``report.json`` entry."""

    @property
    def passed(self) -> bool: ...

    def as_dict(self) -> dict: ...


class LockstepLink(Protocol):
    """What a method's port loop talks to during a lockstep (:class:`parity.engine.lockstep.Lockstep`)."""

    checks: list[Check]

    def ask(self, header: dict, arrays: Mapping[str, np.ndarray] | None = None) -> Answer: ...

    def send(self, header: dict, state: Mapping[str, np.ndarray]) -> None: ...

    def judge(self, port: Mapping[str, np.ndarray], context: Any = None) -> StepRow: ...


class Section(Protocol):
    """A judged lockstep as a method summarises it (:class:`parity.engine.lockstep.LockstepSection`)."""

    rows: list
    checks: list


class IterativeMethod(Protocol[RunT]):
    """The method interface of the parity engine (see the module docstring)."""

    name: str
    """Its name in reports (``MFV``)."""
    worker_kind: str
    """The ``legacy_caffe`` job kind of its lockstep worker."""
    stages: Sequence[Stage]
    """The compared arrays of one step, in the order they are computed."""
    tolerance_entry: str
    """The entry of the tolerance table (``parity/judges/tolerances.json``) holding its stages' limits."""

    def worker_job(self) -> tuple[dict[str, Any], dict[str, Path]]:
        """The worker job's parameters and input files."""
        ...

    def run_port(
        self, lockstep: LockstepLink | None = None, *, progress: bool = False, stop_after: int | None = None
    ) -> RunT:
        """The port's whole run (or its first ``stop_after`` iterations), stepped in lockstep with ``lockstep``'s
        worker when one is given."""
        ...

    def judge(
        self,
        context: Any,
        port: Mapping[str, np.ndarray],
        answer: Answer,
        measured: dict[str, float],
        within: bool,
        lockstep: LockstepLink,
    ) -> StepRow:
        """One step's row: ``measured`` holds each stage's figure and ``within`` whether all are within
        tolerance; a step that is not must be attributed here with what the method proves, or failed."""
        ...

    def summarise(self, section: Section) -> dict[str, Any]:
        """The method's own entries of a lockstep section's ``report.json`` (between ``verdicts`` and ``pass``)."""
        ...

    def lockstep_notes(self, section: Section) -> tuple[str, str]:
        """For the verdict line: the bookkeeping's state (``offsets identical, ...``) and the largest difference
        of the steps within tolerance, in words."""
        ...

    def describe(self, row: StepRow) -> str:
        """A step that is not within tolerance, in words: what differed and what was proved."""
        ...

    def run_legacy(self, stack: LegacyStack, threads: int) -> tuple[RunT, dict]:
        """The legacy reference's whole run with ``threads`` BLAS threads on ``stack``, and its manifest."""
        ...

    def outcome(self, run: RunT) -> RunOutcome:
        """A run as the free-run judges see it."""
        ...
