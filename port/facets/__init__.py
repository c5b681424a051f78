"""Facets of a class (docs/legacy-spec.md, section 5): the start images of Multifaceted Feature Visualization.

``make_facets`` (and ``mfv facets``) turns a folder of a class's images into
k mean images, one per cluster of how the network codes them.  Modules, one
job each: ``images`` (listing, reading, resizing), ``codes`` (batched codes
from any blob), ``cluster`` (PCA, t-SNE, k-means, nearest images),
``outputs`` (the facets directory), ``make`` (the whole recipe, ``make_facets``).
See ``docs/facets.md``.
"""

from port.facets.make import FacetsResult, make_facets

__all__ = ["FacetsResult", "make_facets"]
