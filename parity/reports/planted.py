"""The planted-facet report: what MFV finds on a network that learned something, against the ground truth."""

from __future__ import annotations

import html

import numpy as np

from parity.comparisons.planted import ClassFacets, FacetVisual, PlantedReport
from parity.reports.write import verdict_header
from port.pages import image_data_uri, page, table
from port.planted import PLANTED

SAMPLES_PER_FACET = 4
THUMB = 96


def _img(pixels: np.ndarray, caption: str = "", size: int = THUMB) -> str:
    return (
        f"<figure style='display:inline-block;margin:2px;text-align:center;font-size:11px'>"
        f"<img src='{image_data_uri(pixels)}' width='{size}' height='{size}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _planted_row(report: PlantedReport, c: int) -> str:
    held = report.measures.held_out
    k = PLANTED.facets_per_class
    cells = []
    for f in range(k):
        chosen = np.flatnonzero(held.facets == c * k + f)[:SAMPLES_PER_FACET]
        name = PLANTED.classes[c].facets[f].name
        cells.append(
            f"<div><b>planted facet {f}</b>: {html.escape(name)}<br>"
            + "".join(_img(held.images[i]) for i in chosen)
            + "</div>"
        )
    return "".join(cells)


def _recovered(facets: ClassFacets) -> str:
    k = PLANTED.facets_per_class
    rows = [
        [f"cluster {j}", *(int(np.sum((facets.labels == j) & (facets.planted == f))) for f in range(k))]
        for j in range(k)
    ]
    means = "".join(
        _img(image, f"cluster {j} mean (planted {facets.cluster_facet[j]})")
        for j, image in enumerate(facets.mean_images)
    )
    return (
        f"<p>mfv facets (fc7, PCA, t-SNE, k-means, k = {k}): adjusted Rand index <b>{facets.ari:.3f}</b> "
        f"against the planted facets. Images per cluster and planted facet:</p>"
        + table(["", *(f"planted {f}" for f in range(k))], rows)
        + f"<div>{means}</div>"
    )


def _visuals(visuals: list[FacetVisual]) -> str:
    rows = [
        [
            f"cluster {v.cluster}",
            v.started_from,
            v.nearest,
            "kept" if v.kept else f"drifted to planted facet {v.nearest}",
            *(f"{p:.4f}" for p in v.probability),
        ]
        for v in visuals
    ]
    headers = ["MFV from", "its planted facet", "nearest facet mean (fc7)", "facet", "p (port)", "p (Caffe)"]
    tiles = "".join(
        _img(v.image, f"cluster {v.cluster}: p {v.probability[0]:.3f} / {v.probability[1]:.3f}", 160) for v in visuals
    )
    return table(headers, rows, ["pass" if v.kept else "fail" for v in visuals]) + f"<div>{tiles}</div>"


def render(report: PlantedReport) -> str:
    m = report.measures
    inputs = report.inputs
    bars = report.tolerances
    accuracy = (("port", m.port_accuracy), ("Caffe", m.caffe_accuracy))
    sections = [
        verdict_header(report.verdict),
        "<p><b>PlantedCaffeNet is trained here</b>, in real Caffe 1.0, on synthetic planted-facet images "
        f"(<code>port.planted</code>, docs/planted.md); weights <code>{html.escape(inputs.weights)}</code>, SHA-256 "
        f"<code>{inputs.weights_sha256}</code>. Everything below is measured on {len(m.held_out)} held-out images "
        f"(seed {inputs.held_out_seed}, never used in training), {inputs.images_per_facet} per planted facet.</p>",
        "<h2>Accuracy</h2>",
        table(
            ["stack", "held-out accuracy", "bar"],
            [[name, f"{value:.1%}", f">= {bars['accuracy']:.0%}"] for name, value in accuracy],
        ),
        f"<p>The two stacks predict a different class for {m.disagreements} of {len(m.held_out)} images; "
        f"largest probability difference {np.abs(m.predictions.port_prob - m.predictions.caffe_prob).max():.2e}.</p>",
        f"<h2>Facets, planted and recovered; MFV from each ({inputs.mfv_iterations} iterations, mean preset)</h2>"
        f"<p>MFV keeps its facet for <b>{m.identity_rate:.0%}</b> of facets (bar {bars['facet_identity']:.0%}): "
        f"the final image's fc7 code is nearest the mean code of the planted facet it started from. Probabilities "
        f"are of the class, by the port / by Caffe (bar {bars['probability']}).</p>",
    ]
    for c, facets in enumerate(m.classes):
        sections += [
            f"<h3>{html.escape(facets.name)} (unit {c} of fc8)</h3>",
            _planted_row(report, c),
            _recovered(facets),
            _visuals([v for v in m.visuals if v.class_index == c]),
        ]
    return page("Planted facets: what MFV finds on a trained network", sections)
