"""Planted images by (seed, index): labels, one image, a balanced run of images (docs/planted.md).

Labels are a function of the index alone, round-robin: image i is of class
``i % K`` and of that class's facet ``(i // K) % F`` (K classes of F facets),
so every K * F consecutive indices hold each facet exactly once.  A filter on
classes or facets keeps the indices whose label passes it, in order; the
images it keeps are the very images drawn without it.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np

from port.planted.draw import MAX_SIZE, MIN_SIZE, SAMPLES, Draws, Pose, Scene, choose_scene, render
from port.planted.spec import PLANTED, PlantedSpec, class_indices, facet_indices

MASK_RULE = "coverage > 8 of 16 samples"


@dataclass(frozen=True, eq=False)
class PlantedImage:
    """One planted image and its ground truth.

    ``image`` is uint8 ``(size, size, 3)`` RGB; ``coverage`` uint8
    ``(size, size)``, how many of a pixel's 16 samples fall in the object;
    ``mask`` bool ``(size, size)``, pixels covered more than half
    (``coverage > 8``).  ``class_index``, ``facet_index`` (within the class)
    and ``facet`` (global, ``class_index * F + facet_index``) label it;
    ``scene`` records every random choice of the drawing (pose, texture
    phase, background, clutter).
    """

    seed: int
    index: int
    image: np.ndarray
    coverage: np.ndarray
    mask: np.ndarray
    class_index: int
    facet_index: int
    facet: int
    class_name: str
    facet_name: str
    scene: Scene

    @property
    def centre(self) -> tuple[int, int]:
        """The object's centre ``(x, y)`` in pixels (for a pair, the midpoint of its two parts)."""
        return self.scene.centre

    @property
    def scale(self) -> int:
        """The object's radius in pixels (each part's, for a pair): it fits in a circle of that radius."""
        return self.scene.parts[0].radius

    @property
    def angle(self) -> int:
        """The object's rotation in degrees, a multiple of 15, clockwise on screen (y points down)."""
        return self.scene.parts[0].angle

    @property
    def parts(self) -> tuple[Pose, ...]:
        """One pose per drawn object: one, or two for a pair."""
        return self.scene.parts


def _count(name: str, value: object) -> int:
    """``value`` as a non-negative int; a ValueError naming ``name`` otherwise (a TypeError for a non-integer)."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: an integer, not {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: an integer, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} {number}: must be >= 0")
    return number


def _size(size: object) -> int:
    """``size`` checked against ``MIN_SIZE..MAX_SIZE``."""
    number = _count("size", size)
    if not MIN_SIZE <= number <= MAX_SIZE:
        raise ValueError(f"size {number}: must be {MIN_SIZE}..{MAX_SIZE} pixels")
    return number


def planted_label(index: int, spec: PlantedSpec = PLANTED) -> tuple[int, int]:
    """Image ``index``'s (class index, facet index within the class): ``(i % K, (i // K) % F)``."""
    index = _count("index", index)
    n_classes = len(spec.classes)
    return index % n_classes, (index // n_classes) % spec.facets_per_class


def planted_indices(
    n: int,
    *,
    start: int = 0,
    classes: Collection[int | str] | None = None,
    facets: Collection[int | str] | None = None,
    spec: PlantedSpec = PLANTED,
) -> list[int]:
    """The first ``n`` indices ``>= start`` whose label passes the filters (all of them without filters).

    ``classes`` takes class indices or names, ``facets`` global facet indices
    or facet names; with both, a label must pass both.  Unknown entries, an
    empty filter, or two filters that no facet passes are ValueErrors naming
    the argument.
    """
    n, start = _count("n", n), _count("start", start)
    wanted = set(range(spec.n_facets))
    for argument, chosen in (("classes", classes), ("facets", facets)):
        if chosen is None:
            continue
        if argument == "classes":
            keep = {
                c * spec.facets_per_class + f for c in class_indices(spec, chosen) for f in range(spec.facets_per_class)
            }
        else:
            keep = set(facet_indices(spec, chosen))
        if not keep:
            raise ValueError(f"{argument}: empty; give at least one or None for all")
        wanted &= keep
    if not wanted:
        raise ValueError("classes and facets: no facet passes both filters")
    found = []
    index = start
    while len(found) < n:
        class_index, facet_index = planted_label(index, spec)
        if class_index * spec.facets_per_class + facet_index in wanted:
            found.append(index)
        index += 1
    return found


def planted_image(seed: int, index: int, size: int = 256, *, spec: PlantedSpec = PLANTED) -> PlantedImage:
    """Image ``index`` of ``seed``: the same bytes on every machine, however many images are drawn around it.

    ``size`` is the side in pixels (64..1024); sizes, positions and clutter
    are drawn at that size, so two sizes give two different pictures, not one
    resampled.
    """
    seed, index, size = _count("seed", seed), _count("index", index), _size(size)
    class_index, facet_index = planted_label(index, spec)
    facet = spec.classes[class_index].facets[facet_index]
    scene = choose_scene(Draws(seed, index), facet, size)
    image, coverage = render(scene, facet, spec.colour(facet.colour))
    return PlantedImage(
        seed=seed,
        index=index,
        image=image,
        coverage=coverage,
        mask=coverage > SAMPLES // 2,
        class_index=class_index,
        facet_index=facet_index,
        facet=class_index * spec.facets_per_class + facet_index,
        class_name=spec.classes[class_index].name,
        facet_name=facet.name,
        scene=scene,
    )


def planted_images(
    seed: int,
    n: int,
    *,
    start: int = 0,
    size: int = 256,
    classes: Collection[int | str] | None = None,
    facets: Collection[int | str] | None = None,
    spec: PlantedSpec = PLANTED,
) -> Iterator[PlantedImage]:
    """The images of :func:`planted_indices` (same arguments), drawn one at a time as the iterator is read.

    Arguments are checked at once, not when the first image is read.  Over
    any K * F consecutive indices (12 for ``PLANTED``) every facet comes
    once, so ``n`` a multiple of the number of facets wanted gives exactly
    balanced classes and facets.
    """
    seed, size = _count("seed", seed), _size(size)
    indices = planted_indices(n, start=start, classes=classes, facets=facets, spec=spec)
    return (planted_image(seed, index, size, spec=spec) for index in indices)
