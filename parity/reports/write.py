"""Reports: ``report.json`` with every figure and a self-contained ``report.html``.

Both are written into one directory that appears atomically, under the
output rule (``port.outputs.output_directory``); the page is built with
``port.pages`` (tables, plots as inline PNG).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from parity.judges.verdict import FAIL, PASS, Report, Verdict
from port.outputs import output_directory


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
