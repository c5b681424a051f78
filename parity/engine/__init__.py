"""One parity engine for every iterative method: lockstep, free runs and the legacy noise floor.

A method (MFV: :mod:`parity.comparisons.mfv`) implements
:class:`IterativeMethod` - its worker, its port loop, its stages and how it
attributes a step beyond tolerance - and gets lockstep parity
(:func:`lockstep`, :class:`Lockstep`), free runs against the noise floor along
the BLAS-thread and OpenBLAS-kernel axes (:func:`free_runs`,
:func:`free_section`) and the report of both (:func:`run_parity`,
:class:`RunReport`).  The engine imports judges and environments, never a
comparison or a report.
"""

from parity.engine.free import FirstDivergence, FreeRuns, FreeSection, NoiseFloor, free_runs, free_section
from parity.engine.lockstep import Lockstep, LockstepSection, Worker, run_lockstep
from parity.engine.method import Answer, Check, IterativeMethod, LockstepLink, Section, StepRow
from parity.engine.runs import REPLAY_CAP, RunReport, lockstep, run_parity

__all__ = [
    "REPLAY_CAP",
    "Answer",
    "Check",
    "FirstDivergence",
    "FreeRuns",
    "FreeSection",
    "IterativeMethod",
    "Lockstep",
    "LockstepLink",
    "LockstepSection",
    "NoiseFloor",
    "RunReport",
    "Section",
    "StepRow",
    "Worker",
    "free_runs",
    "free_section",
    "lockstep",
    "run_lockstep",
    "run_parity",
]
