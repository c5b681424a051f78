"""Reports: ``report.json`` with every figure and a self-contained ``report.html``.

Both are written into one directory that appears atomically, under the
output rule (``port.outputs.output_directory``).  Plots are PNG, inlined as base64.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from port.outputs import output_directory  # noqa: E402

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.pass { color: #176417; } .fail { color: #b00020; font-weight: bold; } .pool-tie { color: #8a5a00; }
.verdict { font-size: 16px; padding: .6em 1em; border-radius: 4px; background: #f5f5f5; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: 11px; }
"""


def png_data_uri(fig: plt.Figure) -> str:
    """A matplotlib figure as an inline ``data:image/png`` URI (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def table(headers: list[str], rows: list[list], row_classes: list[str] | None = None) -> str:
    """An HTML table; cells are escaped, floats shown with 3 significant digits."""

    def cell(value) -> str:
        if isinstance(value, float):
            return "inf" if math.isinf(value) else f"{value:.3g}"
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    classes = row_classes or [""] * len(rows)
    body = "".join(
        f'<tr class="{c}">' + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row, c in zip(rows, classes)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def verdict_header(verdict: dict) -> str:
    """The verdict line of a report, coloured by pass/fail, and its failures (if it lists any) below it."""
    failures = "".join(f"<li>{html.escape(f)}</li>" for f in verdict.get("failures", []))
    state = "pass" if verdict["pass"] else "fail"
    return f"<p class='verdict {state}'>{html.escape(verdict['summary'])}</p>" + (
        f"<ul>{failures}</ul>" if failures else ""
    )


def page(title: str, sections: list[str]) -> str:
    """A complete self-contained HTML page."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>"
    )


def write_report(
    out_dir: str | Path,
    report: dict,
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
        (partial / "report.json").write_text(json.dumps(report, indent=1, allow_nan=True))
        (partial / "report.html").write_text(html_text)
        for name, array in (arrays or {}).items():
            np.save(partial / f"{name}.npy", array)
    return out_dir / "report.html"
