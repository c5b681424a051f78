"""Verdicts: the word a compared blob, case or step gets, and the verdict of a whole report.

A row's verdict is one of the names below; a lockstep step whose difference
has several causes joins them with ``+`` (``pool-tie+denoiser``).  A report's
:class:`Verdict` is pass or fail, a one-line summary that starts with
``PASS:`` or ``FAIL:``, and (for the reports that list them) its failures.
:class:`Report` is what every comparison returns: its inputs, tolerances and
environments with the figures and that verdict (``parity.reports`` draws it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

PASS = "pass"
FAIL = "fail"
POOL_TIE = "pool-tie"
RELU_SIGN = "relu-sign"
DENOISER = "denoiser"
STOP_TIE = "stop-tie"


@dataclass(frozen=True)
class Verdict:
    """A report's verdict: ``detail`` is the summary after ``PASS:`` / ``FAIL:``; ``failures`` and
    ``stop_ties`` are recorded when a report lists them (None: not part of this kind of report)."""

    passed: bool
    detail: str
    failures: list[str] | None = None
    stop_ties: int | None = None

    @property
    def summary(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}: {self.detail}"

    def as_dict(self) -> dict:
        """The verdict as ``report.json`` records it."""
        record: dict = {"pass": self.passed}
        if self.failures is not None:
            record["failures"] = list(self.failures)
        if self.stop_ties is not None:
            record["stop_ties"] = self.stop_ties
        return record | {"summary": self.summary}


@dataclass(frozen=True)
class Report:
    """What every report holds: when it was made, its inputs (a dataclass), its tolerances, both stacks'
    environments and its verdict.  A kind of report adds its sections and extends :meth:`as_dict`."""

    kind: ClassVar[str]
    created: str
    inputs: Any
    tolerances: dict
    environment: dict
    verdict: Verdict

    def head(self) -> dict:
        """The first entries of ``report.json``."""
        return {
            "kind": self.kind,
            "created": self.created,
            "inputs": asdict(self.inputs),
            "tolerances": self.tolerances,
            "environment": self.environment,
        }

    def as_dict(self) -> dict:
        """``report.json``: the head, the sections, the verdict."""
        return self.head() | self.sections() | {"verdict": self.verdict.as_dict()}

    def sections(self) -> dict:
        return {}
