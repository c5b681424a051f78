"""HTML for ``mfv parity env``: py27 against bullseye, layer by layer, op by op, step by step, run by run, with
both manifests."""

from __future__ import annotations

import html
import json
from dataclasses import asdict

import numpy as np

from parity.comparisons.env import EnvReport, PairRow
from parity.comparisons.env_lockstep import EnvLockstep
from parity.reports.runs import FLOOR
from parity.reports.write import verdict_header
from port.pages import page, png_data_uri, table


def _pair_table(rows: list[PairRow]) -> str:
    return table(["array", "max |py27 - bullseye|", "bitwise equal"], [[r.name, r.max_abs, r.bitwise] for r in rows])


def _lockstep(lockstep: EnvLockstep) -> str:
    """The worst figure of each part over the steps, per pair; the zooms; the image after each step, per pair."""
    from matplotlib.figure import Figure

    pairs = {"py27 vs bullseye": "cross", "py27 vs itself": "py27_floor", "bullseye vs itself": "bullseye_floor"}
    worst = [
        [name, row.gradient, row.gradient_bitwise, row.step, row.denoise, row.image]
        for name, row in ((name, lockstep.worst(pair)) for name, pair in pairs.items())
    ]
    zooms = [[z.octave + 1, z.scale, z.cross, z.bitwise, z.py27_floor, z.bullseye_floor] for z in lockstep.zooms]
    figure = Figure(figsize=(10, 3.4))
    axes = figure.subplots()
    for name, pair in pairs.items():
        values = [max(getattr(step, pair).image, FLOOR) for step in lockstep.steps]
        axes.semilogy([step.iteration for step in lockstep.steps], values, lw=0.9, label=name)
    axes.set_xlabel("iteration (every worker stepped the same image)")
    axes.set_ylabel("max |a - b|, image after the step")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    return "".join(
        [
            f"<p>{len(lockstep.steps)} steps; {lockstep.gradients_bitwise} with bitwise equal gradients on both "
            f"stacks; {lockstep.steps_within_floor} no further apart than a stack from itself (the other BLAS "
            "thread count). Largest figure of each part over the steps (grey levels, the gradient in its own "
            "units):</p>",
            table(["pair", "gradient", "gradients bitwise", "gradient step", "denoise", "image after the step"], worst),
            table(
                ["octave", "zoom", "max |py27 - bullseye|", "bitwise", "py27 vs itself", "bullseye vs itself"], zooms
            ),
            f"<img src='{png_data_uri(figure)}' alt='per-step differences'>",
        ]
    )


def _images(images: dict[str, np.ndarray]) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3 * len(images), 3.2))
    for k, (name, image) in enumerate(images.items()):
        axes = figure.add_subplot(1, len(images), k + 1)
        axes.imshow(np.clip(np.nan_to_num(image), 0, 255).astype(np.uint8))
        axes.set_title(name, fontsize=9)
        axes.axis("off")
    return f"<img src='{png_data_uri(figure)}' alt='final images'>"


def render(report: EnvReport, images: dict[str, np.ndarray]) -> str:
    """The self-contained HTML page of an env report."""
    runs = [
        [run.name, run.figures.max_abs, run.figures.within_one, run.figures.psnr_db, run.first_divergence]
        for run in report.runs
    ]
    sections = [
        verdict_header(report.verdict),
        "<h2>Inputs</h2>",
        f"<pre>{html.escape(json.dumps(asdict(report.inputs), indent=1))}</pre>",
        "<h2>Layers (same libcaffe: expected bitwise)</h2>",
        _pair_table(report.layers),
        "<h2>Zoom and TV Bregman (scipy 0.17.0 vs 1.6, scikit-image 0.13.1 vs 0.18.1)</h2>",
        _pair_table(report.ops),
        f"<p>Skipped on py27: {html.escape(json.dumps(report.ops_skipped))}</p>",
        "<h2>Lockstep: each step started from the same image on both stacks</h2>",
        _lockstep(report.lockstep),
        "<h2>Free runs against both stacks' noise floors</h2>",
        table(["pair", "max abs", "within one grey level", "PSNR (dB)", "first divergence"], runs),
        _images(images),
        "<h2>Environments (both manifests)</h2>",
        f"<pre>{html.escape(json.dumps(report.environment, indent=1, default=str))}</pre>",
    ]
    return page("mfv parity env: py27 vs bullseye", sections)
