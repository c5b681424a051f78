"""The facets directory: mean images, JSON, t-SNE scatter, contact sheets, an HTML index.

Layout (one directory, written atomically under the output rule, ``port.outputs.output_directory``):

* ``mean_<j>.jpg``: facet j's start image for ``mfv visualize --start``, 8-bit
  RGB at the net's input size, JPEG quality 75 with 4:2:0 chroma subsampling
  (the settings of the original repository's mean images, PIL's defaults);
  ``mean_<j>.png`` is the same pixels, lossless.
* ``facets.json``: the manifest - the facets in order (mean images, cluster
  sizes, centroids, the m files averaged), the net, weights, layer, k, m,
  seed and every parameter of the recipe.
* ``images.json``: every image's t-SNE position, cluster and distance to its
  cluster's centroid (and its rank, 1 = nearest, when among its facet's m).
* ``tsne.png``: the embedding coloured by cluster, each facet's mean image
  at its centroid (the paper's figure 4).
* ``sheet_<j>.png``: facet j's mean image and its m images, labelled.
* ``index.html``: all of it on one page (linking the files beside it).

A mean image is the float64 pixel mean of the m resized 8-bit images,
rounded to the nearest integer (ties to even).  Truncation, as the legacy
visualisation loop saves its output, would darken every pixel by half a
grey level on average.

Files are byte-identical for identical inputs: JSON has sorted keys and
floats rounded to ``FLOAT_DECIMALS``, PNGs carry no software or time stamp.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnnotationBbox, OffsetImage
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from port.facets.cluster import Clustering
from port.facets.codes import Codes
from port.facets.images import read_rgb
from port.outputs import output_directory
from port.pages import page, table

JPEG_QUALITY = 75
JPEG_SUBSAMPLING = 2  # 4:2:0
FLOAT_DECIMALS = 6
TILE = 114
THUMBNAIL = 72
CAPTION = 16
COLUMNS = 8
MANIFEST = "facets.json"
FORMAT = "mfv-facets/1"


@dataclass(frozen=True)
class RunInfo:
    """What produced a facets directory; the manifest's ``run`` record."""

    net: str
    prototxt: str
    weights: str
    layer: str
    image_dir: str
    input_size: tuple[int, int]
    k: int
    m: int
    seed: int
    batch_size: int
    torch_threads: int
    versions: dict[str, str]


def mean_image(images: np.ndarray) -> np.ndarray:
    """The pixel mean of ``(m, H, W, 3)`` uint8 images as uint8, rounded to nearest (ties to even)."""
    return np.rint(images.mean(axis=0, dtype=np.float64)).astype(np.uint8)


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    """uint8 RGB as ``"JPEG"`` (quality 75, 4:2:0) or ``"PNG"`` bytes."""
    options = {"quality": JPEG_QUALITY, "subsampling": JPEG_SUBSAMPLING} if fmt == "JPEG" else {}
    buffer = BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _figure_png(fig: Figure) -> bytes:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def facet_colour(j: int, k: int) -> tuple[float, float, float, float]:
    """Facet j's colour in the scatter: tab10 up to 10 facets, tab20 beyond (cycling past 20)."""
    palette = colormaps["tab10" if k <= 10 else "tab20"]
    return palette(j % palette.N)


def scatter_png(clustering: Clustering, thumbnails: Sequence[np.ndarray], layer: str) -> bytes:
    """The t-SNE embedding coloured by cluster, each facet's thumbnail at its centroid, as PNG bytes.

    Points are drawn over the thumbnails, so none is hidden.
    """
    k = len(clustering.centroids)
    fig = Figure(figsize=(9, 9))
    ax = fig.add_subplot()
    colours = np.array([facet_colour(j, k) for j in range(k)])
    ax.scatter(
        *clustering.embedding.T, c=colours[clustering.labels], s=10, linewidths=0.3, edgecolors="white", zorder=2
    )
    zoom = THUMBNAIL / thumbnails[0].shape[1]
    for j, (centroid, thumb) in enumerate(zip(clustering.centroids, thumbnails)):
        ax.add_artist(
            AnnotationBbox(
                OffsetImage(thumb, zoom=zoom),
                centroid,
                frameon=True,
                pad=0.1,
                zorder=1,
                bboxprops={"edgecolor": colours[j], "linewidth": 2.5},
            )
        )
        ax.annotate(
            str(j),
            centroid,
            color="white",
            fontsize=9,
            fontweight="bold",
            ha="center",
            va="center",
            zorder=3,
            bbox={"boxstyle": "circle,pad=0.15", "facecolor": colours[j], "linewidth": 0},
        )
    ax.set_title(
        f"t-SNE of {len(clustering.labels)} {layer} codes, {k} k-means clusters (facet mean images at the centroids)"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return _figure_png(fig)


def _fit(text: str, font: ImageFont.ImageFont, draw: ImageDraw.ImageDraw, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def contact_sheet_png(title: str, tiles: Sequence[np.ndarray], captions: Sequence[str]) -> bytes:
    """A labelled grid of uint8 RGB images (up to ``COLUMNS`` per row, ``TILE`` pixels wide), as PNG bytes."""
    font = ImageFont.load_default(size=11)
    columns = min(COLUMNS, len(tiles))
    rows = -(-len(tiles) // columns)
    header = 2 * CAPTION
    sheet = Image.new("RGB", (columns * TILE, header + rows * (TILE + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 8), _fit(title, font, draw, sheet.width - 8), fill="black", font=font)
    for i, (tile, caption) in enumerate(zip(tiles, captions)):
        x, y = (i % columns) * TILE, header + (i // columns) * (TILE + CAPTION)
        sheet.paste(Image.fromarray(tile).resize((TILE - 2, TILE - 2), Image.BILINEAR), (x + 1, y))
        draw.text((x + 2, y + TILE), _fit(caption, font, draw, TILE - 4), fill="black", font=font)
    buffer = BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), FLOAT_DECIMALS) for v in values]


def to_json(data: Any) -> str:
    """Canonical JSON: sorted keys, one-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def facet_files(j: int) -> dict[str, str]:
    """The names of facet j's files in the directory, keyed as in the manifest."""
    return {"mean_jpg": f"mean_{j}.jpg", "mean_png": f"mean_{j}.png", "contact_sheet": f"sheet_{j}.png"}


def image_table(codes: Codes, clustering: Clustering) -> list[dict[str, Any]]:
    """One record per image: file, t-SNE position, cluster, distance to its centroid, and ``rank``
    (1 = nearest) when it is among the m images averaged for its own cluster, else null."""
    ranks: dict[int, int] = {}
    for j, nearest in enumerate(clustering.nearest):
        for rank, i in enumerate(nearest, start=1):
            if clustering.labels[i] == j:
                ranks[int(i)] = rank
    return [
        {
            "file": path.name,
            "position": _rounded(clustering.embedding[i]),
            "cluster": int(clustering.labels[i]),
            "distance": round(float(clustering.distances[i]), FLOAT_DECIMALS),
            "rank": ranks.get(i),
        }
        for i, path in enumerate(codes.paths)
    ]


def facet_table(codes: Codes, clustering: Clustering) -> list[dict[str, Any]]:
    """The manifest's facet records, in facet order."""
    sizes, members = clustering.sizes, clustering.members_among_nearest
    return [
        {
            "index": j,
            **facet_files(j),
            "cluster_size": int(sizes[j]),
            "centroid": _rounded(clustering.centroids[j]),
            "nearest": [codes.paths[i].name for i in clustering.nearest[j]],
            "members_among_nearest": int(members[j]),
        }
        for j in range(len(clustering.centroids))
    ]


def _index_html(manifest: dict[str, Any], run: RunInfo) -> str:
    facts = table(
        ["run", ""],
        [
            ["net", f"{run.net} ({run.prototxt})"],
            ["weights", run.weights],
            ["layer", run.layer],
            ["images", f"{manifest['n_images']} used, {len(manifest['skipped'])} skipped"],
            ["k, m, seed", f"{run.k}, {run.m}, {run.seed}"],
        ],
    )
    facets = table(
        ["facet", "cluster size", "own members among the m nearest", "files"],
        [
            [f["index"], f["cluster_size"], f["members_among_nearest"], ", ".join(f["nearest"])]
            for f in manifest["facets"]
        ],
    )
    sheets = "".join(
        f"<h3>Facet {f['index']}</h3><img src='{html.escape(f['contact_sheet'])}' alt=''>" for f in manifest["facets"]
    )
    skipped = table(["skipped file", "reason"], [[s["file"], s["reason"]] for s in manifest["skipped"]])
    return page(
        f"Facets of {run.layer}",
        [
            facts,
            "<img src='tsne.png' alt='t-SNE' style='max-width:100%'>",
            facets,
            sheets,
            skipped if manifest["skipped"] else "",
        ],
    )


def write_facets_dir(
    out_dir: str | Path,
    codes: Codes,
    clustering: Clustering,
    run: RunInfo,
    progress: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """Write the whole facets directory atomically and return its manifest.

    ``force`` replaces what the output rule (``port.outputs``) would refuse.

    The m images of each facet are read again from disk (``read_rgb``, at
    ``run.input_size``), so the codes pass never holds them all.
    """
    manifest = {
        "format": FORMAT,
        "run": asdict(run),
        "n_images": len(codes.paths),
        "code_length": codes.values.shape[1],
        "pca_dims": clustering.pca_dims,
        "tsne_perplexity": round(clustering.perplexity, FLOAT_DECIMALS),
        "facets": facet_table(codes, clustering),
        "images": "images.json",
        "scatter": "tsne.png",
        "skipped": [{"file": s.path.name, "reason": s.reason} for s in codes.skipped],
    }
    with output_directory(out_dir, force=force) as partial:
        means = []
        for j, nearest in enumerate(tqdm(clustering.nearest, desc="facets", unit="facet", disable=not progress)):
            files = facet_files(j)
            images = np.stack([read_rgb(codes.paths[i], run.input_size) for i in nearest])
            mean = mean_image(images)
            means.append(mean)
            (partial / files["mean_jpg"]).write_bytes(encode(mean, "JPEG"))
            (partial / files["mean_png"]).write_bytes(encode(mean, "PNG"))
            title = (
                f"facet {j}: mean of the {len(nearest)} images nearest the centroid (cluster of {clustering.sizes[j]})"
            )
            captions = ["mean"] + [f"{rank}. {codes.paths[i].name}" for rank, i in enumerate(nearest, start=1)]
            (partial / files["contact_sheet"]).write_bytes(contact_sheet_png(title, [mean, *images], captions))
        (partial / "tsne.png").write_bytes(scatter_png(clustering, means, run.layer))
        (partial / "images.json").write_text(
            to_json({"layer": run.layer, "images": image_table(codes, clustering)}), encoding="utf-8"
        )
        (partial / MANIFEST).write_text(to_json(manifest), encoding="utf-8")
        (partial / "index.html").write_text(_index_html(manifest, run), encoding="utf-8")
    return manifest
