"""Planted-facet images (port.planted, docs/planted.md): pinned bytes, determinism, ground truth, balance, spec rules.

References are written here by hand: the golden hashes (taken once the
images had been looked at, seed 0 images 0..23 and the pair layout's seed 3
images 0..5, on a contact sheet), the facet table and colours of
docs/planted.md, the areas and perimeters of the shapes from their geometry,
the bounds on clutter colours derived from the drawing's ranges, and the
cosines and sines of the rotation table from ``math``.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import math
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from port.planted import (
    PLANTED,
    Colour,
    Facet,
    PlantedClass,
    PlantedImage,
    PlantedSpec,
    draw,
    planted_image,
    planted_images,
    planted_indices,
    planted_label,
    single_cue_violations,
    spec_problems,
)

ROOT = Path(__file__).resolve().parents[1]

# docs/planted.md's table: class -> facets (shape, colour, texture), and the palette.
TABLE = (
    (("disc", "red", "stripes"), ("square", "blue", "dots"), ("triangle", "yellow", "solid")),
    (("disc", "blue", "checker"), ("triangle", "red", "dots"), ("cross", "green", "stripes")),
    (("square", "red", "solid"), ("cross", "yellow", "checker"), ("disc", "green", "dots")),
    (("triangle", "green", "checker"), ("square", "yellow", "stripes"), ("cross", "blue", "solid")),
)
RGB = {"red": (220, 40, 40), "green": (30, 170, 60), "blue": (40, 80, 220), "yellow": (230, 200, 30)}
SHADE = {"red": (82, 15, 15), "green": (11, 63, 22), "blue": (15, 30, 82), "yellow": (86, 75, 11)}  # 3/8, rounded down

# Area and perimeter per radius r (circumradius): disc; square of half side r/sqrt2; equilateral triangle
# inscribed in the circle; cross of arms 6b x 2b with b = r/sqrt10 (area 8*3b*b - 4b^2 = 20b^2, outline 24b).
AREA = {"disc": math.pi, "square": 2.0, "triangle": 3 * math.sqrt(3) / 4, "cross": 2.0}
PERIMETER = {"disc": 2 * math.pi, "square": 4 * math.sqrt(2), "triangle": 3 * math.sqrt(3), "cross": 24 / math.sqrt(10)}
RADIUS_256 = (36, 72)  # a single object's radius at size 256: 9/64..18/64 of the side

# Dark share of a textured facet's fully covered pixels: stripes and checker half; dots pi * 0.3^2 of each cell.
DARK_SHARE = {"solid": (0.0, 0.0), "stripes": (0.35, 0.65), "checker": (0.35, 0.65), "dots": (0.18, 0.38)}

# Clutter bounds from the drawing's ranges: background level 104..160, gradient +-16 per axis, grid +-12,
# tint +-10 -> channels 50..214; distractors grey 72..184, tint +-15.  Spread <= 2 * 15.
CLUTTER_CHANNELS = (50, 214)
CLUTTER_SPREAD = 32
FACET_COLOUR_DISTANCE = 40  # (least facet colour spread 140 - 32) / 2 = 54 >= 40
SHADE_DISTANCE = 35  # every shade has a channel <= 15, every clutter channel is >= 50

GOLDEN_SEED0 = "cd1d44cafeb558b88ca7551d396b13000e0c075697559ef79ec8386ef10fd393"
GOLDEN_PAIRS_SEED3 = "8a97fb2de3dc23453dcaa36906b3f38961b463d7949310767e387076ac140e46"


def fingerprint(images: list[PlantedImage]) -> str:
    """SHA-256 of each image's pixels, mask, coverage and labels and pose, in order."""
    digest = hashlib.sha256()
    for im in images:
        digest.update(np.ascontiguousarray(im.image, dtype=np.uint8).tobytes())
        digest.update(np.ascontiguousarray(im.mask, dtype=np.uint8).tobytes())
        digest.update(np.ascontiguousarray(im.coverage, dtype=np.uint8).tobytes())
        labels = (im.index, im.class_index, im.facet_index, im.facet, *im.centre, im.scale, im.angle)
        digest.update(repr(labels).encode())
    return digest.hexdigest()


def pair_spec() -> PlantedSpec:
    """PLANTED with every facet drawn as a pair."""
    return PlantedSpec(
        tuple(PlantedClass(c.name, tuple(replace(f, layout="pair") for f in c.facets)) for c in PLANTED.classes),
        PLANTED.palette,
    )


@pytest.fixture(scope="module")
def first_24() -> list[PlantedImage]:
    return list(planted_images(0, 24))


def test_golden_hash_of_seed_0_images_0_to_7(first_24):
    assert fingerprint(first_24[:8]) == GOLDEN_SEED0


def test_golden_hash_of_the_pair_layout():
    assert fingerprint([planted_image(3, i, spec=pair_spec()) for i in range(6)]) == GOLDEN_PAIRS_SEED3


def test_the_rotation_table_is_2_to_14_times_cos_and_sin_of_15_degree_steps():
    assert len(draw.DIRECTIONS) == 24
    for k, (c, s) in enumerate(draw.DIRECTIONS):
        assert (c, s) == (round(2**14 * math.cos(math.radians(15 * k))), round(2**14 * math.sin(math.radians(15 * k))))
    assert draw.INV_SQRT2 == round(2**14 / math.sqrt(2)) and draw.INV_SQRT10 == round(2**14 / math.sqrt(10))


def test_the_drawing_has_no_floating_point(first_24):
    """No float literal, true division, or transcendental or reducing float function in port/planted/draw.py."""
    tree = ast.parse(inspect.getsource(draw))
    floats = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, float)]
    divisions = [
        n.lineno for n in ast.walk(tree) if isinstance(n, (ast.BinOp, ast.AugAssign)) and isinstance(n.op, ast.Div)
    ]
    # float maths and reductions, and Generator methods (the draws are raw PCG64 outputs only)
    banned = set(
        "sin cos tan exp log sqrt mean average dot matmul einsum float32 float64 uniform normal integers".split()
    )
    called = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in banned]
    assert (floats, divisions, called) == ([], [], [])
    assert all(im.image.dtype == np.uint8 and im.coverage.dtype == np.uint8 for im in first_24)


def test_an_image_is_the_same_alone_in_a_batch_and_after_others(first_24):
    alone = [planted_image(0, i) for i in (23, 5, 17)]
    batch = list(planted_images(0, 10, start=14))
    for im in [*alone, *batch]:
        reference = first_24[im.index]
        assert np.array_equal(im.image, reference.image) and np.array_equal(im.coverage, reference.coverage)
        assert im.scene == reference.scene
    filtered = list(planted_images(0, 4, classes=["class2"]))
    assert [im.index for im in filtered] == [2, 6, 10, 14]
    assert all(np.array_equal(im.image, first_24[im.index].image) for im in filtered)


def test_different_seeds_and_indices_give_different_images(first_24):
    others = [planted_image(seed, 0) for seed in (1, 2, 10**12)]
    images = [first_24[0], first_24[12], *others]  # index 12 has index 0's facet
    assert len({im.image.tobytes() for im in images}) == len(images)
    assert len({im.scene for im in images}) == len(images)
    assert {im.facet_name for im in images} == {"disc-red-stripes"}


def test_areas_match_the_geometry_and_the_scale_range(first_24):
    for im in first_24:
        shape = PLANTED.classes[im.class_index].facets[im.facet_index].shape
        r = im.scale
        area, perimeter = AREA[shape] * r * r, PERIMETER[shape] * r
        # an edge moves by at most half a sample spacing (1/8 pixel) in the coverage, half a pixel in the mask
        assert abs(im.coverage.sum() / 16 - area) <= 0.15 * perimeter, (im.index, shape)
        assert abs(int(im.mask.sum()) - area) <= 0.5 * perimeter, (im.index, shape)
        assert RADIUS_256[0] <= r <= RADIUS_256[1]
        smallest, largest = RADIUS_256
        low = AREA[shape] * smallest**2 - 0.5 * PERIMETER[shape] * smallest
        high = AREA[shape] * largest**2 + 0.5 * PERIMETER[shape] * largest
        assert low <= im.mask.sum() <= high


def test_the_object_is_inside_the_image_and_its_circle(first_24):
    for im in first_24:
        cov = im.coverage
        assert not (cov[0].any() or cov[-1].any() or cov[:, 0].any() or cov[:, -1].any())
        ys, xs = np.nonzero(cov)
        (cx, cy), r = im.centre, im.scale
        # every touched pixel has a point within the circle: its nearest point to the centre
        nx, ny = np.clip(cx, xs, xs + 1), np.clip(cy, ys, ys + 1)
        assert ((nx - cx) ** 2 + (ny - cy) ** 2 <= r * r).all()
        assert np.array_equal(im.mask, cov > 8) and cov.max() == 16


def test_pixels_have_the_facets_colours_and_texture(first_24):
    for im in first_24:
        shape, colour, texture = TABLE[im.class_index][im.facet_index]
        rgb, shade = np.array(RGB[colour]), np.array(SHADE[colour])
        full = im.image[im.coverage == 16].astype(int)
        # a fully covered pixel mixes the colour and its shade: (rgb * (16 - d) + shade * d + 8) // 16 for d in 0..16
        tones = np.array([(rgb * (16 - d) + shade * d + 8) // 16 for d in range(17)])
        matches = (full[:, None, :] == tones[None, :, :]).all(axis=2)
        assert matches.any(axis=1).all(), (im.index, colour)
        dark = (matches.argmax(axis=1) / 16).mean()
        assert DARK_SHARE[texture][0] <= dark <= DARK_SHARE[texture][1], (im.index, texture, dark)
        if texture == "solid":
            edge = im.mask & (im.coverage < 16)
            below_most = (16 - im.coverage[edge, None].astype(int)) * 255 / 16 + 1
            assert (np.abs(im.image[edge].astype(int) - rgb) <= below_most).all()


def test_classes_and_facets_are_balanced_and_labels_consistent():
    indices = planted_indices(120)
    labels = Counter(planted_label(i) for i in indices)
    assert labels == Counter({(c, f): 10 for c in range(4) for f in range(3)})
    ims = list(planted_images(7, 12, start=30, size=64))
    assert Counter(im.facet for im in ims) == Counter(range(12))
    for im in ims:
        assert im.facet == 3 * im.class_index + im.facet_index and im.class_name == f"class{im.class_index}"
        assert im.facet_name == "-".join(TABLE[im.class_index][im.facet_index])
    chosen = planted_indices(24, classes=[1, "class3"])
    assert Counter(planted_label(i) for i in chosen) == Counter({(c, f): 4 for c in (1, 3) for f in range(3)})
    assert planted_indices(3, start=5, facets=["cross-blue-solid", 0]) == [11, 12, 23]
    assert planted_indices(3, classes=[0, 1], facets=[1, 4, 8]) == [4, 5, 16]


def test_the_spec_is_the_documented_table_and_has_no_single_cue():
    assert [[(f.shape, f.colour, f.texture) for f in c.facets] for c in PLANTED.classes] == [list(t) for t in TABLE]
    assert all(f.layout == "one" for c in PLANTED.classes for f in c.facets)
    assert {c.name: c.rgb for c in PLANTED.palette} == RGB and {c.name: c.shade for c in PLANTED.palette} == SHADE
    assert spec_problems(PLANTED) == [] and single_cue_violations(PLANTED, at_least=3) == []
    for attribute in range(3):
        uses = Counter(value for facets in TABLE for value in {f[attribute] for f in facets})
        assert set(uses.values()) == {3}, uses


def test_the_checker_catches_planted_violations():
    classes = list(PLANTED.classes)
    # red only in class0: class1's red triangle turns yellow, class2's red square blue
    classes[1] = PlantedClass(
        "class1", (classes[1].facets[0], Facet("triangle", "yellow", "dots"), classes[1].facets[2])
    )
    classes[2] = PlantedClass("class2", (Facet("square", "blue", "solid"), *classes[2].facets[1:]))
    red_once = PlantedSpec(tuple(classes), PLANTED.palette)
    assert single_cue_violations(red_once) == [
        "colour 'red' is used by 1 class(es) (class0), fewer than 2: it alone tells the class"
    ]
    assert spec_problems(red_once) == single_cue_violations(red_once)
    same_texture = PlantedSpec(
        (PlantedClass("a", (Facet("disc", "red", "dots"), Facet("square", "blue", "dots"))),), PLANTED.palette
    )
    assert spec_problems(same_texture) == ["a: facets disc-red-dots and square-blue-dots share texture"]
    shared = Facet("disc", "red", "dots")
    with pytest.raises(ValueError, match="facet names must be unique; repeated: disc-red-dots"):
        PlantedSpec((PlantedClass("a", (shared,)), PlantedClass("b", (shared,))), PLANTED.palette)
    dull = PlantedSpec(
        (PlantedClass("a", (Facet("disc", "olive", "dots"),)), PlantedClass("b", (Facet("cross", "olive", "solid"),))),
        (Colour("olive", (120, 130, 60)),),
    )
    assert single_cue_violations(dull) == [
        "shape 'cross' is used by 1 class(es) (b), fewer than 2: it alone tells the class",
        "shape 'disc' is used by 1 class(es) (a), fewer than 2: it alone tells the class",
        "texture 'dots' is used by 1 class(es) (a), fewer than 2: it alone tells the class",
        "texture 'solid' is used by 1 class(es) (b), fewer than 2: it alone tells the class",
    ]
    assert spec_problems(dull)[-1] == "colour 'olive' (120, 130, 60): channel spread 70 < 112, too near the clutter"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: planted_image(-1, 0), "seed -1"),
        (lambda: planted_image(0, -3), "index -3"),
        (lambda: planted_image(0, 0, size=63), "size 63"),
        (lambda: planted_image(0, 0, size=2048), "size 2048"),
        (lambda: planted_images(0, -1), "n -1"),
        (lambda: planted_images(-5, 3), "seed -5"),
        (lambda: planted_images(0, 3, start=-2), "start -2"),
        (lambda: planted_images(0, 3, size=32), "size 32"),
        (lambda: planted_images(0, 3, classes=[4]), "classes: unknown class 4"),
        (lambda: planted_images(0, 3, classes=["dog"]), "classes: unknown class 'dog'"),
        (lambda: planted_images(0, 3, classes="class0"), "classes: a collection"),
        (lambda: planted_images(0, 3, classes=[]), "classes: empty"),
        (lambda: planted_images(0, 3, facets=[12]), "facets: unknown facet 12"),
        (lambda: planted_images(0, 3, classes=[0], facets=[3]), "no facet passes both"),
        (lambda: Facet("hexagon", "red", "dots"), "facet shape 'hexagon'"),
        (lambda: PlantedSpec((PlantedClass("a", (Facet("disc", "pink", "dots"),)),), PLANTED.palette), "pink"),
    ],
)
def test_bad_arguments_are_value_errors_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_non_integer_seed_is_a_type_error():
    with pytest.raises(TypeError, match="seed"):
        planted_image(1.5, 0)  # type: ignore[arg-type]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**64), index=st.integers(0, 10**9), size=st.sampled_from([64, 97, 128]))
def test_any_image_is_well_formed(seed, index, size):
    im = planted_image(seed, index, size)
    assert im.image.shape == (size, size, 3) and im.image.dtype == np.uint8
    assert im.mask.shape == im.coverage.shape == (size, size) and im.mask.dtype == bool
    assert im.mask.any() and im.coverage.max() <= 16
    cov = im.coverage
    assert not (cov[0].any() or cov[-1].any() or cov[:, 0].any() or cov[:, -1].any())
    assert (im.class_index, im.facet_index) == planted_label(index)


def test_pairs_are_two_separate_objects_inside_the_image():
    spec = pair_spec()
    for im in planted_images(3, 6, spec=spec):
        (a, b), r = (p.centre for p in im.parts), im.scale
        assert (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 > (2 * r) ** 2
        assert (a[0] + b[0], a[1] + b[1]) == (2 * im.centre[0], 2 * im.centre[1])
        assert ndimage.label(im.coverage > 0)[1] == 2
        cov = im.coverage
        assert not (cov[0].any() or cov[-1].any() or cov[:, 0].any() or cov[:, -1].any())


def test_clutter_never_carries_a_facet(first_24):
    facet_shapes = {f.shape for c in PLANTED.classes for f in c.facets}
    for im in [*first_24, *planted_images(11, 24, size=64)]:
        for d in im.scene.clutter:
            assert d.kind in ("ellipse", "bar") and d.kind not in facet_shapes
            assert 2 * d.length >= 3 * d.width if d.kind == "ellipse" else d.length >= 4 * d.width
            assert max(d.rgb) - min(d.rgb) <= CLUTTER_SPREAD
            assert all(max(abs(a - b) for a, b in zip(d.rgb, rgb)) >= FACET_COLOUR_DISTANCE for rgb in RGB.values())
        clutter = im.image[im.coverage == 0].astype(int)
        assert CLUTTER_CHANNELS[0] <= clutter.min() and clutter.max() <= CLUTTER_CHANNELS[1]
        assert (clutter.max(axis=1) - clutter.min(axis=1)).max() <= CLUTTER_SPREAD
        for name in RGB:
            assert np.abs(clutter - np.array(RGB[name])).max(axis=1).min() >= FACET_COLOUR_DISTANCE
            assert np.abs(clutter - np.array(SHADE[name])).max(axis=1).min() >= SHADE_DISTANCE


def test_importing_the_package_needs_neither_torch_nor_matplotlib():
    code = "import sys, port.planted; print(sorted(m for m in ('torch', 'matplotlib', 'PIL') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_planted_set_matches_the_images_resized(tmp_path) -> None:
    """The training/measuring array holds each image as ``mfv facets`` reads its file: PIL's bilinear
    resize of the drawn image to the net's size, and the labels of the index."""
    from PIL import Image

    from port.facets.images import read_rgb
    from port.planted.dataset import planted_set

    indices = [0, 5, 13, 30]
    data = planted_set(3, indices, 227)
    assert data.images.shape == (4, 227, 227, 3) and data.images.dtype == np.uint8
    for row, index in enumerate(indices):
        drawn = planted_image(3, index)
        path = tmp_path / f"{index}.png"
        Image.fromarray(drawn.image).save(path)
        np.testing.assert_array_equal(data.images[row], read_rgb(path, (227, 227)))
        assert (data.classes[row], data.facets[row], data.indices[row]) == (drawn.class_index, drawn.facet, index)
    assert data.facets.tolist() == [3 * (i % 4) + (i // 4) % 3 for i in indices]
