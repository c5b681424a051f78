"""HTML for lockstep and free-run parity reports (levels 4 and 5)."""

from __future__ import annotations

import html
import json

import numpy as np
from matplotlib.figure import Figure

from parity.engine import FreeSection, LockstepSection, RunReport
from parity.judges.runs import ImageFigures
from parity.judges.verdict import DENOISER, FAIL, PASS, POOL_TIE, RELU_SIGN
from parity.reports.write import verdict_header
from port.pages import page, png_data_uri, table

FLOOR = 1e-9
EVENT_COLOURS = {
    POOL_TIE: "#8a5a00",
    RELU_SIGN: "#6a3d9a",
    f"{POOL_TIE}+{RELU_SIGN}": "#b15928",
    DENOISER: "#1f5fa8",
    FAIL: "#b00020",
}


def image_panel(images: dict[str, np.ndarray]) -> str:
    """The images side by side (as the legacy code saved them: uint8 truncation), and |port - legacy|."""
    panels = list(images.items())
    if "port" in images and "legacy" in images:
        panels.append(("|port - legacy|", np.abs(images["port"].astype(np.float64) - images["legacy"]).max(axis=2)))
    fig = Figure(figsize=(3.3 * len(panels), 3.6))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (title, image) in zip(axes[0], panels):
        if image.ndim == 3:
            with np.errstate(invalid="ignore"):
                ax.imshow(image.astype(np.uint8))
        else:
            shown = ax.imshow(
                np.nan_to_num(image, nan=255.0), cmap="magma", vmin=0, vmax=max(1.0, float(np.nanmax(image)))
            )
            fig.colorbar(shown, ax=ax, fraction=0.046, label="grey levels")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return png_data_uri(fig)


def lockstep_plot(section: LockstepSection, tolerance: float) -> str:
    """Per step: max |denoised port - denoised legacy| and the gradient's relative error."""
    rows = section.rows
    its = [r.iteration for r in rows]
    fig = Figure(figsize=(10, 5.2))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.semilogy(its, [max(r.judgement.denoised_abs, FLOOR) for r in rows], lw=0.8, label="denoised crop (grey levels)")
    top.semilogy(its, [max(r.judgement.clipped_abs, FLOOR) for r in rows], lw=0.8, alpha=0.7, label="clipped crop")
    top.axhline(tolerance, color="#b00020", ls="--", lw=1, label="tolerance")
    for verdict in sorted({r.verdict for r in rows} - {PASS}):
        marked = [(r.iteration, max(r.judgement.denoised_abs, FLOOR)) for r in rows if r.verdict == verdict]
        colour = EVENT_COLOURS.get(verdict, EVENT_COLOURS[f"{POOL_TIE}+{RELU_SIGN}"])
        top.scatter(*zip(*marked), color=colour, s=18, zorder=5, label=verdict)
    top.set_ylabel("max |port - legacy|")
    top.legend(fontsize=7, ncol=3)
    bottom.semilogy(its, [max(r.judgement.gradient_rel, FLOOR) for r in rows], lw=0.8, color="#444")
    bottom.set_ylabel("gradient, max rel")
    bottom.set_xlabel("iteration (each stack stepped the same crop)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3, which="both")
    return png_data_uri(fig)


def divergence_plot(section: FreeSection) -> str:
    """Relative target-activation difference over iterations: port vs legacy, legacy vs itself."""
    fig = Figure(figsize=(10, 3.4))
    ax = fig.subplots()
    for label, values in section.divergences.items():
        ax.semilogy(
            range(len(values)),
            [max(v, FLOOR) if np.isfinite(v) else 1e3 for v in values],
            lw=0.9,
            label=label.replace("_", " "),
        )
    first = section.first_divergence.iteration
    if first is not None:
        ax.axvline(first, color="#b00020", ls=":", lw=1, label=f"first divergence ({first})")
    ax.set_xlabel("iteration")
    ax.set_ylabel("|Δ target activation| / max(1, |a|)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return png_data_uri(fig)


def _events_table(section: LockstepSection) -> str:
    events = [r for r in section.rows if r.verdict != PASS][:40]
    if not events:
        return "<p>Every step within tolerance.</p>"
    rows = [
        [
            r.iteration,
            r.octave + 1,
            r.i,
            r.verdict,
            r.judgement.gradient_rel,
            r.judgement.denoised_abs,
            r.judgement.gradient_rel_forced or "",
            r.judgement.same_denoiser_abs or "",
            "; ".join(f"{t.layer} c{t.channel} ({t.row},{t.col})" for t in r.judgement.ties[:3]),
            "; ".join(f"{f['layer']}: {f['units']}" for f in r.judgement.relu_flips),
        ]
        for r in events
    ]
    return table(
        [
            "iteration",
            "octave",
            "step",
            "verdict",
            "gradient rel",
            "denoised abs",
            "gradient rel, following Caffe",
            "same-input denoiser abs",
            "tied pool windows",
            "ReLU flips",
        ],
        rows,
        [r.verdict.split("+")[0] for r in events],
    )


def render(report: RunReport, images: dict[str, np.ndarray]) -> str:
    """The self-contained HTML page of a lockstep or free-run report."""
    inputs = report.inputs
    sections = [
        verdict_header(report.verdict),
        "<h2>Inputs</h2>",
        table(
            ["what", "value"],
            [
                ["target", inputs.target],
                ["seed", inputs.seed],
                ["start", inputs.start["path"] if inputs.start else "random normal(175, 8)"],
                ["weights", f"{inputs.weights_description} ({inputs.weights['sha1'][:12]})"],
                ["schedule", "legacy (Python 2 quirks)" if inputs.legacy else "intended"],
                ["octaves", ", ".join(f"{o['iter_n']}x{o['layer'] or ''}" for o in inputs.octaves)],
                ["legacy stack", f"{inputs.legacy_stack}, {inputs.legacy_blas_threads} BLAS thread(s)"],
                ["port ops", inputs.port_ops],
            ],
        ),
        "<h2>Images</h2>",
        f"<img src='{image_panel(images)}' alt='final images'>",
    ]
    step_tol = report.tolerances["lockstep"]["denoised_abs"]
    for section, title in (
        (report.lockstep, "Level 4: lockstep"),
        (report.lockstep_replay, "Lockstep replay up to the first divergence"),
    ):
        if section is not None:
            zooms = [{"octave": z.octave + 1, "max_abs": z.max_abs} for z in section.checks]
            sections += [
                f"<h2>{title}</h2>",
                f"<p>{len(section.rows)} steps: {html.escape(json.dumps(section.verdicts))}; zooms: "
                f"{html.escape(json.dumps(zooms))}</p>",
                f"<img src='{lockstep_plot(section, step_tol)}' alt='lockstep errors'>",
                _events_table(section),
            ]
    free = report.free
    if free is not None:
        rows = [["port vs legacy", *_fig_cells(free.port_vs_legacy)]]
        for floor in free.floors:
            kernel = " kernel" if floor.axis == "kernel" else ""
            rows.append([f"legacy vs legacy ({floor.other}{kernel})", *_fig_cells(floor.figures)])
        sections += [
            "<h2>Level 5: free run</h2>",
            table(["pair", "max abs", "within one grey level", "PSNR (dB)"], rows),
            f"<p>First divergence: iteration {free.first_divergence.iteration}: "
            f"{html.escape(free.first_divergence.cause)}</p>",
            f"<p>Non-finite: {html.escape(json.dumps(free.non_finite))}</p>",
            f"<img src='{divergence_plot(free)}' alt='divergence over iterations'>",
        ]
    sections += [
        "<h2>Level 0: environments</h2>",
        f"<pre>{html.escape(json.dumps(report.environment, indent=1, default=str))}</pre>",
    ]
    return page(f"MFV {report.mode} parity: {inputs.target}, seed {inputs.seed}", sections)


def _fig_cells(fig: ImageFigures) -> list:
    return [fig.max_abs, f"{fig.within_one:.1%}", fig.psnr_db]
