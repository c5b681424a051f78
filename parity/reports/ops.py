"""HTML for the ops parity report (level 3): the drift table of zoom and TV Bregman."""

from __future__ import annotations

import html
import json

from parity.comparisons.ops import OpsReport, TvRow, ZoomRow
from parity.judges.verdict import FAIL, PASS, STOP_TIE
from parity.reports.write import verdict_header
from port.pages import page, table

PAIRS = (
    ("port_vs_modern", "port vs modern"),
    ("port_vs_legacy", "port vs legacy"),
    ("modern_vs_legacy", "modern vs legacy"),
)
ROW_CLASS = {PASS: "pass", FAIL: "fail", STOP_TIE: "pool-tie"}  # the report style's amber marks a tie


def _figure_cells(row: ZoomRow | TvRow) -> list:
    cells = []
    for key, _ in PAIRS:
        pair = getattr(row, key)
        cells += ["-", "-"] if pair is None else [pair.max_abs, pair.max_rel]
    return cells


def _figure_headers() -> list[str]:
    return [f"{label}: max {kind}" for _, label in PAIRS for kind in ("abs", "rel")]


def _iterations(row: TvRow) -> list:
    counts = row.iterations
    ties = "; ".join(
        f"{name}: {', '.join(f'{v:.12g}' for v in values)}" for name, values in row.stop_ties.items() if values
    )
    return [
        "/".join(map(str, counts.port)),
        "-" if counts.modern is None else counts.modern,
        "-" if counts.legacy is None else counts.legacy,
        ties,
    ]


def render(report: OpsReport) -> str:
    """The self-contained HTML page of an ops report."""
    inputs = report.inputs
    legacy_versions = report.environment["legacy"]["environment"]["versions"]
    port_packages = report.environment["port"]["packages"]
    zoom_rows = [[r.case, "x".join(map(str, r.shape)), *_figure_cells(r), r.tolerance, r.verdict] for r in report.zoom]
    tv_rows = [[r.case, *_figure_cells(r), *_iterations(r), r.tolerance, r.verdict] for r in report.tv_bregman]
    skipped = [[side, number, reason] for side, entries in report.skipped.items() for number, reason in entries]
    sections = [
        verdict_header(report.verdict),
        "<h2>Inputs</h2>",
        table(
            ["what", "value"],
            [
                [
                    "arrays",
                    f"seed {inputs.seed}: zoom input (3, {inputs.size}, {inputs.size}) uniform 0..255; "
                    f"TV input ({inputs.size}, {inputs.size}, 3) normal(175, 8) clipped to 0..255",
                ],
                [
                    "TV Bregman",
                    f"weights {', '.join(map(str, inputs.weights))}; max_iter {inputs.max_iter}, "
                    f"eps {inputs.eps}, isotropic",
                ],
                ["modern", f"scipy {port_packages.get('scipy')}, scikit-image {port_packages.get('scikit-image')}"],
                [
                    "legacy",
                    f"scipy {legacy_versions.get('scipy')}, scikit-image {legacy_versions.get('skimage')} "
                    f"({inputs.legacy_stack})",
                ],
                ["tolerances", report.tolerances["source"]],
            ],
        ),
        "<p>max rel = max |a - b| / max |b|. A stop tie: the iteration counts differ and the port's stopping "
        "value at the first iteration where the runs decide differently lies within the stop margin of eps "
        "(one run did one more iteration); its values are not compared.</p>",
        "<h2>zoom (scipy.ndimage.zoom, factors (1, s, s))</h2>",
        table(
            ["case", "shape", *_figure_headers(), "tolerance", "verdict"],
            zoom_rows,
            [ROW_CLASS[r.verdict] for r in report.zoom],
        ),
        "<h2>tv_bregman (skimage.restoration.denoise_tv_bregman)</h2>",
        table(
            [
                "case",
                *_figure_headers(),
                "iterations: port (per channel)",
                "modern",
                "legacy",
                "port stopping values at a tie",
                "tolerance",
                "verdict",
            ],
            tv_rows,
            [ROW_CLASS[r.verdict] for r in report.tv_bregman],
        ),
    ]
    if skipped:
        sections += ["<h2>Cases a reference could not run</h2>", table(["side", "tv case", "reason"], skipped)]
    sections += [
        "<h2>Tolerances</h2>",
        f"<pre>{html.escape(json.dumps(report.tolerances['table'], indent=1))}</pre>",
        "<h2>Environments</h2>",
        f"<pre>{html.escape(json.dumps(report.environment, indent=1, default=str))}</pre>",
    ]
    return page("Ops parity (level 3): zoom and TV Bregman", sections)
