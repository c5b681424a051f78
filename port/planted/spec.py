"""The planted-facet image set as data: classes that are unions of known facets (docs/planted.md).

A facet is a combination of attributes - a shape, a colour, a texture and a
part layout (one object, or a pair of copies side by side).  A class is the
union of its facets.  ``PLANTED`` is the set the project trains on: 4 classes
of 3 facets each, in which

* the facets of one class differ in shape, in colour and in texture, so a
  class's facets are visibly different things (what MFV must recover), and
* every shape, colour and texture is used by 3 of the 4 classes, so no single
  cue tells the class: only a combination of attributes does.

:func:`spec_problems` checks those rules on any spec (and that every colour
is saturated enough to stay far from the muted clutter);
:func:`single_cue_violations` checks the no-single-cue rule alone.  Neither
is run at import: a spec that breaks them can still be built (the tests
build one on purpose).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass

SHAPES = ("disc", "triangle", "square", "cross")
TEXTURES = ("solid", "stripes", "dots", "checker")
LAYOUTS = ("one", "pair")
ATTRIBUTES = ("shape", "colour", "texture", "layout")

CLUTTER_SPREAD = 32
"""Largest channel spread (max - min of R, G, B) of any clutter colour the drawing uses."""
SEPARATION = 40
"""Least L-infinity distance, on 0..255, between a facet colour and any colour of spread <= ``CLUTTER_SPREAD``."""
SHADE_NUM, SHADE_DEN = 3, 8
"""A texture's second tone is the facet colour times 3/8, per channel, rounded down."""


@dataclass(frozen=True)
class Colour:
    """A named facet colour: a fixed RGB triple on 0..255, and its dark shade (the texture's second tone)."""

    name: str
    rgb: tuple[int, int, int]

    def __post_init__(self) -> None:
        if len(self.rgb) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in self.rgb):
            raise ValueError(f"colour {self.name!r}: rgb {self.rgb!r} must be three integers on 0..255")

    @property
    def shade(self) -> tuple[int, int, int]:
        """The colour times 3/8 per channel, rounded down: the dark tone of stripes, dots and checkers."""
        r, g, b = (c * SHADE_NUM // SHADE_DEN for c in self.rgb)
        return (r, g, b)

    @property
    def spread(self) -> int:
        """Largest minus smallest channel: how saturated the colour is."""
        return max(self.rgb) - min(self.rgb)


@dataclass(frozen=True)
class Facet:
    """One sub-type of a class: shape, colour (a palette name), texture and layout."""

    shape: str
    colour: str
    texture: str
    layout: str = "one"

    def __post_init__(self) -> None:
        for attribute, known in (("shape", SHAPES), ("texture", TEXTURES), ("layout", LAYOUTS)):
            if getattr(self, attribute) not in known:
                raise ValueError(f"facet {attribute} {getattr(self, attribute)!r}: one of {', '.join(known)}")

    @property
    def name(self) -> str:
        """``shape-colour-texture``, with ``-pair`` appended for a pair layout (e.g. ``disc-red-stripes``)."""
        base = f"{self.shape}-{self.colour}-{self.texture}"
        return base if self.layout == "one" else f"{base}-{self.layout}"

    def attribute(self, attribute: str) -> str:
        """The facet's value of ``attribute`` (one of ``ATTRIBUTES``)."""
        if attribute not in ATTRIBUTES:
            raise ValueError(f"attribute {attribute!r}: one of {', '.join(ATTRIBUTES)}")
        return getattr(self, attribute)


@dataclass(frozen=True)
class PlantedClass:
    """A class: a name and the facets whose union it is."""

    name: str
    facets: tuple[Facet, ...]


@dataclass(frozen=True)
class PlantedSpec:
    """A planted image set: classes (each with the same number of facets) and the palette their colours come from.

    Structure is checked on construction (at least one class, equal facet
    counts, unique class and facet names - so no facet is in two classes -,
    every colour in the palette); the
    content rules are :func:`spec_problems`'s.  Facets are numbered globally
    ``class_index * facets_per_class + facet_index``.
    """

    classes: tuple[PlantedClass, ...]
    palette: tuple[Colour, ...]

    def __post_init__(self) -> None:
        if not self.classes or not all(c.facets for c in self.classes):
            raise ValueError("a spec needs at least one class, and every class at least one facet")
        if len({len(c.facets) for c in self.classes}) != 1:
            raise ValueError(f"every class needs the same number of facets: {[len(c.facets) for c in self.classes]}")
        for what, names in (
            ("class", [c.name for c in self.classes]),
            ("facet", [f.name for c in self.classes for f in c.facets]),
            ("colour", [c.name for c in self.palette]),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(repeated)}")
        unknown = sorted({f.colour for c in self.classes for f in c.facets} - {c.name for c in self.palette})
        if unknown:
            raise ValueError(f"colours not in the palette: {', '.join(unknown)}")

    @property
    def facets_per_class(self) -> int:
        """Facets in each class."""
        return len(self.classes[0].facets)

    @property
    def n_facets(self) -> int:
        """Facets in all classes together."""
        return len(self.classes) * self.facets_per_class

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes' names, by class index."""
        return tuple(c.name for c in self.classes)

    @property
    def facet_names(self) -> tuple[str, ...]:
        """The facets' names, by global facet index."""
        return tuple(f.name for c in self.classes for f in c.facets)

    def colour(self, name: str) -> Colour:
        """The palette colour called ``name``."""
        for colour in self.palette:
            if colour.name == name:
                return colour
        raise ValueError(f"colour {name!r}: not in the palette ({', '.join(c.name for c in self.palette)})")

    def facet(self, facet: int) -> tuple[int, int, Facet]:
        """Global facet index -> (class index, facet index within the class, the facet)."""
        if not 0 <= facet < self.n_facets:
            raise ValueError(f"facet {facet}: the spec has facets 0..{self.n_facets - 1}")
        class_index, facet_index = divmod(facet, self.facets_per_class)
        return class_index, facet_index, self.classes[class_index].facets[facet_index]


PALETTE = (
    Colour("red", (220, 40, 40)),
    Colour("green", (30, 170, 60)),
    Colour("blue", (40, 80, 220)),
    Colour("yellow", (230, 200, 30)),
)

PLANTED = PlantedSpec(
    classes=(
        PlantedClass(
            "class0",
            (Facet("disc", "red", "stripes"), Facet("square", "blue", "dots"), Facet("triangle", "yellow", "solid")),
        ),
        PlantedClass(
            "class1",
            (Facet("disc", "blue", "checker"), Facet("triangle", "red", "dots"), Facet("cross", "green", "stripes")),
        ),
        PlantedClass(
            "class2",
            (Facet("square", "red", "solid"), Facet("cross", "yellow", "checker"), Facet("disc", "green", "dots")),
        ),
        PlantedClass(
            "class3",
            (
                Facet("triangle", "green", "checker"),
                Facet("square", "yellow", "stripes"),
                Facet("cross", "blue", "solid"),
            ),
        ),
    ),
    palette=PALETTE,
)
"""The project's planted set: 4 classes x 3 facets; every shape, colour and texture in 3 classes (docs/planted.md)."""


def cue_classes(spec: PlantedSpec) -> dict[tuple[str, str], frozenset[int]]:
    """(attribute, value) -> the indices of the classes that have a facet with that value, for every value used."""
    found: dict[tuple[str, str], set[int]] = {}
    for class_index, planted_class in enumerate(spec.classes):
        for facet in planted_class.facets:
            for attribute in ATTRIBUTES:
                found.setdefault((attribute, facet.attribute(attribute)), set()).add(class_index)
    return {cue: frozenset(classes) for cue, classes in found.items()}


def single_cue_violations(spec: PlantedSpec, at_least: int = 2) -> list[str]:
    """Every attribute value used by fewer than ``at_least`` classes (a cue that alone tells the class), as messages.

    With one class there is nothing to tell apart, so nothing is reported.
    """
    if len(spec.classes) < 2:
        return []
    found = []
    for (attribute, value), classes in sorted(cue_classes(spec).items()):
        if len(classes) < at_least:
            names = ", ".join(spec.class_names[c] for c in sorted(classes))
            found.append(
                f"{attribute} {value!r} is used by {len(classes)} class(es) ({names}), "
                f"fewer than {at_least}: it alone tells the class"
            )
    return found


def spec_problems(spec: PlantedSpec, at_least: int = 2) -> list[str]:
    """Every broken content rule of ``spec``, as messages (empty when it is sound).

    Rules: no single cue (:func:`single_cue_violations`); the facets of a
    class differ pairwise in shape, in colour and in texture; every palette colour used has a
    channel spread of at least ``CLUTTER_SPREAD + 2 * SEPARATION``, which
    puts it at L-infinity distance >= ``SEPARATION`` from every clutter colour
    (a colour within distance d of another has a spread within 2d of it).
    """
    problems = single_cue_violations(spec, at_least)
    for planted_class in spec.classes:
        for i, first in enumerate(planted_class.facets):
            for second in planted_class.facets[i + 1 :]:
                shared = [a for a in ("shape", "colour", "texture") if first.attribute(a) == second.attribute(a)]
                if shared:
                    problems.append(
                        f"{planted_class.name}: facets {first.name} and {second.name} share {', '.join(shared)}"
                    )
    used = {f.colour for c in spec.classes for f in c.facets}
    least = CLUTTER_SPREAD + 2 * SEPARATION
    problems += [
        f"colour {c.name!r} {c.rgb}: channel spread {c.spread} < {least}, too near the clutter"
        for c in spec.palette
        if c.name in used and c.spread < least
    ]
    return problems


def class_indices(spec: PlantedSpec, classes: Iterable[int | str]) -> frozenset[int]:
    """Class indices or names -> indices; an unknown one is a ValueError naming ``classes``."""
    return _indices("classes", "class", classes, spec.class_names)


def facet_indices(spec: PlantedSpec, facets: Iterable[int | str]) -> frozenset[int]:
    """Global facet indices or facet names -> global indices; an unknown one is a ValueError naming ``facets``."""
    return _indices("facets", "facet", facets, spec.facet_names)


def _indices(argument: str, what: str, wanted: Iterable[int | str], names: tuple[str, ...]) -> frozenset[int]:
    """Indices into ``names`` of ``wanted`` (indices or names); anything else is a ValueError naming ``argument``."""
    if isinstance(wanted, (str, bytes)):
        raise ValueError(f"{argument}: a collection of {what} indices or names, not the string {wanted!r}")
    found = set()
    for item in wanted:
        if isinstance(item, str) and item in names:
            found.add(names.index(item))
            continue
        try:
            index = None if isinstance(item, (str, bool)) else operator.index(item)
        except TypeError:
            index = None
        if index is None or not 0 <= index < len(names):
            raise ValueError(f"{argument}: unknown {what} {item!r} (indices 0..{len(names) - 1} or names {names})")
        found.add(index)
    return frozenset(found)
