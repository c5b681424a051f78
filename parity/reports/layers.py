"""HTML for the layers parity report (levels 0-2)."""

from __future__ import annotations

import html
import json

from matplotlib.figure import Figure

from parity.comparisons.layers import BlobRow, LayersReport
from parity.reports.write import verdict_header
from port.pages import page, png_data_uri, table

TIE_ROWS_SHOWN = 50
FLOOR = 1e-12


def error_plot(report: LayersReport) -> str:
    """max_rel per blob, forward and per backward target, against the tolerances (log scale)."""
    fig = Figure(figsize=(11, 4.2))
    ax = fig.subplots()
    series = [("forward", report.forward)] + [(f"diff from {b.target}", b.blobs) for b in report.backward]
    order = [r.blob for r in report.forward]
    position = {name: i for i, name in enumerate(order)}
    for label, rows in series:
        xs = [position[r.blob] for r in rows if r.blob in position]
        ys = [max(r.figures.max_rel, FLOOR) for r in rows if r.blob in position]
        ax.plot(xs, ys, marker="o", ms=3, lw=1, label=label)
        forced = [
            (position[r.blob], max(r.with_legacy_argmax.max_rel, FLOOR))
            for r in rows
            if r.with_legacy_argmax is not None and r.blob in position
        ]
        if forced:
            ax.scatter(*zip(*forced), marker="x", s=40, color="black", zorder=5)
    tolerances = sorted({r.tolerance for _, rows in series for r in rows})
    for tol in tolerances:
        ax.axhline(tol, color="#b00020", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(order)), order, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("max |port - legacy| / max |legacy|\n(exact zeros drawn at 1e-12)")
    ax.set_title("Per-blob error (dashed: tolerance; x: port following Caffe's max-pool argmax)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return png_data_uri(fig)


def _blob_table(rows: list[BlobRow]) -> str:
    local = any(r.local is not None for r in rows)
    header = "local max rel" if local else "max rel, Caffe argmax"

    def extra(r: BlobRow) -> float | str:
        figures = r.local if local else r.with_legacy_argmax
        return "" if figures is None else figures.max_rel

    headers = ["blob", "shape", "max abs", "max rel", "mean abs", "tolerance", "verdict", header]
    cells = [
        [
            r.blob,
            "x".join(map(str, r.figures.shape)),
            r.figures.max_abs,
            r.figures.max_rel,
            r.figures.mean_abs,
            r.tolerance,
            r.verdict,
            extra(r),
        ]
        for r in rows
    ]
    return table(headers, cells, [r.verdict for r in rows])


def _ties_section(report: LayersReport) -> str:
    parts = [
        "<h2>Max-pool near-ties</h2><p>Windows where Caffe's mask and the port's argmax differ, with "
        "each stack's pooling input at both picks: in a near-tie each stack's larger value is its own "
        "pick and the values agree to rounding.</p>"
    ]
    summary = [[layer, e.windows, e.positive_windows, len(e.ties)] for layer, e in report.pool_ties.items()]
    parts.append(table(["layer", "windows", "positive windows", "tied windows"], summary))
    ties = [t for e in report.pool_ties.values() for t in e.ties]
    if ties:
        rows = [
            [
                t.layer,
                t.n,
                t.channel,
                t.row,
                t.col,
                t.port_index,
                t.legacy_index,
                *(f"{v:.9g}" for v in (*t.port_values, *t.legacy_values)),
                t.relative_gap,
            ]
            for t in ties[:TIE_ROWS_SHOWN]
        ]
        parts.append(
            table(
                [
                    "layer",
                    "n",
                    "channel",
                    "row",
                    "col",
                    "port pick",
                    "Caffe pick",
                    "port: at port pick",
                    "port: at Caffe pick",
                    "Caffe: at port pick",
                    "Caffe: at Caffe pick",
                    "relative gap",
                ],
                rows,
            )
        )
        if len(ties) > TIE_ROWS_SHOWN:
            parts.append(f"<p>{len(ties) - TIE_ROWS_SHOWN} more in report.json.</p>")
    return "".join(parts)


def _flips_section(report: LayersReport) -> str:
    if not report.relu_flips:
        return ""
    rows = [[layer, f.units, f.max_abs_value, f.relative_value] for layer, f in report.relu_flips.items()]
    return (
        "<h2>ReLU sign near-ties</h2><p>Units on in one stack and off in the other, each layer counted once "
        "the port follows Caffe in the flipped layers before it; the port's value there, absolute and "
        "relative to the blob's largest (within the forward tolerance of zero).</p>"
        + table(["layer", "units", "max |port value|", "relative to max |blob|"], rows)
    )


def _onnx_sections(report: LayersReport) -> list[str]:
    """The onnxruntime stack's own sections (``parity.comparisons.onnx_layers``), for its reports only."""
    info = getattr(report, "onnx", None)
    if info is None:
        return []
    return [
        "<h2>onnxruntime</h2>",
        table(["what", "value"], [[k, v] for k, v in vars(info).items()]),
        "<h2>onnxruntime against the port</h2>",
        _blob_table(report.versus_port),
    ]


def render(report: LayersReport) -> str:
    """The self-contained HTML page of a layers report."""
    inputs = report.inputs
    weights_bad = [w for w in report.weights if not w.bitwise_equal]
    sections = [
        verdict_header(report.verdict),
        "<h2>Inputs</h2>",
        table(
            ["what", "value"],
            [
                ["prototxt", f"{inputs.prototxt['path']} (sha1 {inputs.prototxt['sha1'][:12]})"],
                ["weights", f"{inputs.weights['path']} (sha1 {inputs.weights['sha1'][:12]})"],
                ["input", inputs.input],
                ["targets", ", ".join(inputs.targets)],
                ["legacy stack", f"{inputs.legacy_stack}, {inputs.legacy_blas_threads} BLAS thread(s)"],
                ["tolerances", report.tolerances["source"]],
            ],
        ),
        "<h2>Per-blob error</h2>",
        f"<img src='{error_plot(report)}' alt='per-blob error plot'>",
        "<h2>Level 1: weights</h2>",
        f"<p>{len(report.weights)} learnable blobs; "
        f"{'all bitwise equal' if not weights_bad else f'{len(weights_bad)} differ'}.</p>",
        "<h2>Level 2: forward</h2>",
        "<p>Local max rel: the port's layers fed Caffe's values of their bottoms, "
        "the error a layer makes itself rather than inherits.</p>",
        _blob_table(report.forward),
        *_onnx_sections(report),
        _ties_section(report),
        _flips_section(report),
    ]
    for b in report.backward:
        sections += [
            f"<h2>Level 2: backward from a one-hot at {html.escape(b.target)}</h2>",
            _blob_table(b.blobs),
        ]
    sections += [
        "<h2>Level 0: environments</h2>",
        f"<pre>{html.escape(json.dumps(report.environment, indent=1, default=str))}</pre>",
    ]
    return page(f"Layers parity: {inputs.prototxt['path']}", sections)
