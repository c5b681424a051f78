"""Reports: ``report.json`` with every figure and a self-contained ``report.html``.

Both are written into one directory that appears atomically, under the
output rule (``port.outputs.output_directory``); the page is built with
``port.pages`` (tables, plots as inline PNG).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from parity.verdict import FAIL, PASS, Verdict
from port.outputs import output_directory


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


def verdict_header(verdict: Verdict) -> str:
    """The verdict line of a report, coloured by pass/fail, and its failures (if it lists any) below it."""
    failures = "".join(f"<li>{html.escape(f)}</li>" for f in verdict.failures or [])
    state = PASS if verdict.passed else FAIL
    return f"<p class='verdict {state}'>{html.escape(verdict.summary)}</p>" + (
        f"<ul>{failures}</ul>" if failures else ""
    )


def write_report(
    out_dir: str | Path,
    report: Report,
    html_text: str,
    arrays: dict[str, np.ndarray] | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write ``report.json``, ``report.html`` and ``<name>.npy`` per array into ``out_dir`` atomically.

    ``force`` replaces what the output rule would refuse.  Returns the HTML path.
    """
    out_dir = Path(out_dir)
    with output_directory(out_dir, force=force) as partial:
        (partial / "report.json").write_text(json.dumps(report.as_dict(), indent=1, allow_nan=True))
        (partial / "report.html").write_text(html_text)
        for name, array in (arrays or {}).items():
            np.save(partial / f"{name}.npy", array)
    return out_dir / "report.html"
