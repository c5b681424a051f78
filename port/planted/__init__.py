"""Planted-facet images: classes that are unions of known facets, with their evidence known pixel by pixel.

Ground truth for interpretability methods (docs/planted.md): each class of
``PLANTED`` is the union of 3 facets (shape, colour, texture), no single
attribute tells the class, and every image comes with the object's coverage
and mask.  Modules, one job each: ``spec`` (the classes and facets as data,
and the checks of their rules), ``draw`` (one image from its random choices,
integer arithmetic only, so the bytes are the same on every machine),
``images`` (labels by index, one image, a balanced run).  Needs numpy only.

    from port.planted import planted_image, planted_images
    first = planted_image(seed=0, index=0)           # first.image, first.mask, first.class_index, ...
    batch = list(planted_images(0, 24, classes=[1, 3]))
"""

from port.planted.draw import Distractor, Pose, Scene
from port.planted.images import PlantedImage, planted_image, planted_images, planted_indices, planted_label
from port.planted.spec import (
    PLANTED,
    Colour,
    Facet,
    PlantedClass,
    PlantedSpec,
    single_cue_violations,
    spec_problems,
)

__all__ = [
    "PLANTED",
    "Colour",
    "Distractor",
    "Facet",
    "PlantedClass",
    "PlantedImage",
    "PlantedSpec",
    "Pose",
    "Scene",
    "planted_image",
    "planted_images",
    "planted_indices",
    "planted_label",
    "single_cue_violations",
    "spec_problems",
]
