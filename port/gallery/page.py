"""The gallery's outputs: ``index.html`` (facets side by side, activation curves, the measures),
``gallery.json`` (every figure) and each final image as ``<net>/facet_<j>.png``, in one folder that
appears atomically."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from port.gallery.run import NetGallery
from port.mfv.outputs import legacy_uint8
from port.outputs import output_directory
from port.pages import image_data_uri, page, png_data_uri, table


def _curves(gallery: NetGallery) -> Figure:
    fig = Figure(figsize=(5.5, 2.6))
    ax = fig.subplots()
    for j, run in enumerate(gallery.runs):
        ax.plot([r.iteration for r in run.trace], [r.target_act for r in run.trace], lw=1, label=f"facet {j}")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"{gallery.target} activation")
    ax.set_title(gallery.net)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def _thumbnail(image: np.ndarray) -> str:
    return f'<img src="{image_data_uri(legacy_uint8(image))}" width="128">'


def summary(gallery: NetGallery) -> dict:
    """One network's figures as gallery.json holds them."""
    return {
        "net": gallery.net,
        "weights": gallery.weights,
        "preset": gallery.preset,
        "target": gallery.target,
        "iterations": gallery.iterations,
        "facets": len(gallery.runs),
        "seconds": gallery.seconds,
        "seconds_per_iteration": gallery.seconds_per_iteration,
        "diversity": gallery.diversity,
        "relative_diversity": gallery.relative_diversity,
        "start_relative_diversity": gallery.start_diversity,
        "images": [
            dict(asdict(m), last_step_activation=run.trace[-1].target_act, non_finite=run.non_finite_cause())
            for m, run in zip(gallery.measures, gallery.runs)
        ],
    }


def _section(gallery: NetGallery) -> str:
    rows = [
        [
            f"facet {j}",
            run.trace[-1].target_act,
            m.activation,
            m.probability,
            m.colour_distance,
            m.central_mass,
        ]
        for j, (run, m) in enumerate(zip(gallery.runs, gallery.measures))
    ]
    starts = "".join(_thumbnail(image) for image in gallery.starts)
    finals = "".join(_thumbnail(run.image) for run in gallery.runs)
    headers = ["image", "last step's activation", "activation", "probability", "colour distance", "central mass"]
    return (
        f"<h2>{html.escape(gallery.net)}</h2><p>weights: {html.escape(gallery.weights)}; preset "
        f"{html.escape(gallery.preset)}, {gallery.iterations} iterations, "
        f"{gallery.seconds_per_iteration:.3g} s per iteration for {len(gallery.runs)} facets in one batch</p>"
        f"<p>starts (facets' mean images)<br>{starts}</p><p>finals<br>{finals}</p>"
        f'<img src="{png_data_uri(_curves(gallery))}">' + table(headers, rows)
    )


def write_gallery(out: Path, unit: int, galleries: list[NetGallery], *, force: bool = False) -> Path:
    """Write the gallery folder (replaced whole under the output rule); return it."""
    headers = ["net", "mean activation", "mean probability", "relative diversity", "(of the starts)", "s / iteration"]
    rows = [
        [
            g.net,
            float(np.mean([m.activation for m in g.measures])),
            float(np.mean([m.probability for m in g.measures])),
            g.relative_diversity,
            g.start_diversity,
            g.seconds_per_iteration,
        ]
        for g in galleries
    ]
    intro = (
        f"<p>Unit {unit} of each network's class scores, every facet's mean image as a start, one batch per "
        "network. Measures are defined in docs/gallery.md; weights labelled random are NOT pretrained.</p>"
    )
    sections = [intro, table(headers, rows), *(_section(g) for g in galleries)]
    with output_directory(out, force=force) as tmp:
        for g in galleries:
            (tmp / g.net).mkdir()
            for j, run in enumerate(g.runs):
                Image.fromarray(legacy_uint8(run.image)).save(tmp / g.net / f"facet_{j}.png")
        record = {"unit": unit, "nets": [summary(g) for g in galleries]}
        (tmp / "gallery.json").write_text(json.dumps(record, indent=1, default=str))
        (tmp / "index.html").write_text(page(f"MFV gallery: unit {unit}", sections))
    return out
