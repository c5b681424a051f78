"""Self-contained HTML pages: a style, tables, and matplotlib figures inlined as PNG.

Figures are :class:`matplotlib.figure.Figure` objects rendered straight to
PNG, so nothing here (or in a module that draws with it) imports pyplot or
chooses a plotting backend: importing ``port`` leaves a notebook's backend
as it was.
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.pass { color: #176417; } .fail { color: #b00020; font-weight: bold; } .pool-tie { color: #8a5a00; }
.verdict { font-size: 16px; padding: .6em 1em; border-radius: 4px; background: #f5f5f5; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: 11px; }
"""


def png_data_uri(fig: Figure) -> str:
    """A matplotlib figure as an inline ``data:image/png`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_data_uri(pixels: np.ndarray) -> str:
    """An (H, W, 3) uint8 RGB image as an inline lossless ``data:image/png`` URI."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
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


def page(title: str, sections: list[str]) -> str:
    """A complete self-contained HTML page."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>"
    )
