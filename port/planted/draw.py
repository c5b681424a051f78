"""Drawing one planted image: a facet's object over low-contrast clutter, with its exact coverage (docs/planted.md).

An image is drawn in two steps.  :func:`choose_scene` makes every random
choice (background, the object's pose, the texture's phase, the clutter) from
the image's own :class:`Draws` and returns them as a :class:`Scene`, the
drawing's record of what it drew; :func:`render` turns a scene into pixels
and is a pure function of it.

Geometry.  Each pixel is sampled on a 4 x 4 grid (sample centres at 1/8,
3/8, 5/8 and 7/8 of the pixel, pixel (row y, column x) covering
[x, x+1) x [y, y+1) of the image plane).  A shape is a predicate on sample
positions; a pixel's coverage is the number of its 16 samples inside the
object (0..16, summed as uint8), and the object's colour is mixed with what
lies below in proportion to that count.  The object (and each part of a pair)
fits in the circle of radius ``radius`` about its centre: a disc of that
radius, a square, an equilateral triangle and a plus-shaped cross with their
corners on it.  Its centre is at least ``radius + 1`` pixels from every edge,
so the whole object, mask included, is inside the image.  Textures are drawn
in the object's own frame (they turn and scale with it); their dark tone is
the colour's :attr:`~port.planted.spec.Colour.shade`.

Clutter.  The background is a grey level plus a per-channel tint, a linear
gradient and a coarse 5 x 5 grid of offsets interpolated bilinearly; on it lie
4..9 distractors, ellipses (axis ratio >= 1.5, so never a disc) and thin bars
(length >= 4 widths, so never a square or a cross), in grey tinted by at most
15 per channel.  Every clutter colour therefore has a channel spread
(max - min of R, G, B) of at most ``CLUTTER_SPREAD``, and the spec's colours
are checked to be at least ``SEPARATION`` away from any such colour
(``spec_problems``): clutter is never a facet's colour, shape or texture.

Determinism (the same bytes on every x86-64 machine, any SIMD width).
Image i of seed s is drawn from the bit generator of
``numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence([s, i])))``
alone, so it does not depend on how many images are asked for or in which
order.  Its draws are the raw 64-bit outputs (``random_raw``) mapped to an
integer range by a multiply-shift in Python integers: they rely only on
SeedSequence and PCG64, whose streams NumPy keeps stable across versions
(NEP 19), not on ``Generator.integers``'s algorithm, which NumPy may change.
The drawing uses no floating point at all: sample positions are integers
(eighths of a pixel); rotations use a table of the 24 multiples of 15 degrees
whose cosines and sines are written below as integers, round(2**14 cos) and
round(2**14 sin); shapes and textures are comparisons of int64 sums and
products; coverage counts are integer sums; colours are mixed by integer
arithmetic, rounded half up.  Integer arithmetic is exact on every CPU and
every SIMD path, and every intermediate stays below 2**62 for sizes up to
``MAX_SIZE`` (eighths of a pixel below 2**13, projections below 2**28,
squares below 2**56; ellipses are tested at 1/128 pixel), so the bytes cannot
depend on the machine.  (So transcendental functions, float reductions and
BLAS, whose last bits differ between CPUs, never enter.)  The integer
rotation is not exactly orthonormal - cos**2 + sin**2 differs from 2**28 by
less than 2e-5 relative - which moves an edge by less than 0.001 pixel at
the largest radius; it is the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from port.planted.spec import CLUTTER_SPREAD, Colour, Facet

SUPERSAMPLE = 4
"""Samples per pixel along each axis; a pixel has ``SUPERSAMPLE ** 2`` = 16 samples."""
SAMPLES = SUPERSAMPLE * SUPERSAMPLE
MIN_SIZE, MAX_SIZE = 64, 1024
ONE = 1 << 14
"""The scale of the direction table: (c, s) stands for (c / 2**14, s / 2**14)."""
UNIT = 8 * ONE
"""Projection units per pixel: a sample's offset in eighths of a pixel times a table entry."""
ANGLE_STEP = 15
"""Degrees between angles of the table; an object's angle is ``ANGLE_STEP * k`` for k in 0..23."""
DIRECTIONS: tuple[tuple[int, int], ...] = (
    (16384, 0),
    (15826, 4240),
    (14189, 8192),
    (11585, 11585),
    (8192, 14189),
    (4240, 15826),
    (0, 16384),
    (-4240, 15826),
    (-8192, 14189),
    (-11585, 11585),
    (-14189, 8192),
    (-15826, 4240),
    (-16384, 0),
    (-15826, -4240),
    (-14189, -8192),
    (-11585, -11585),
    (-8192, -14189),
    (-4240, -15826),
    (0, -16384),
    (4240, -15826),
    (8192, -14189),
    (11585, -11585),
    (14189, -8192),
    (15826, -4240),
)
"""(round(2**14 cos(15 k deg)), round(2**14 sin(15 k deg))) for k = 0..23, x right and y down."""
INV_SQRT2 = 11585
"""round(2**14 / sqrt(2)): a square's half side per unit of radius."""
INV_SQRT10 = 5181
"""round(2**14 / sqrt(10)): a cross's arm half-width per unit of radius (arms 3 half-widths long)."""
GRID = 5
"""The background's coarse grid of offsets is GRID x GRID."""
CLUTTER_KINDS = ("ellipse", "bar")
CLUTTER_TINT = 15
"""A distractor's colour is a grey plus at most this much per channel: spread <= 30 <= CLUTTER_SPREAD."""

assert 2 * CLUTTER_TINT <= CLUTTER_SPREAD


class Draws:
    """The random draws of one image, from its own PCG64 (see the module docstring)."""

    def __init__(self, seed: int, index: int) -> None:
        generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index])))
        self._bits = generator.bit_generator

    def integer(self, low: int, high: int) -> int:
        """An integer on ``low..high`` (inclusive): ``low + floor(x * (high - low + 1) / 2**64)``, x the next output.

        Without rejection, so a range of m values is uneven by at most m / 2**64 (under 2**-37 here).
        """
        if high < low:
            raise ValueError(f"empty range {low}..{high}")
        return low + ((int(self._bits.random_raw()) * (high - low + 1)) >> 64)


@dataclass(frozen=True)
class Background:
    """The clutter's background: level + tint per channel + linear gradient + the interpolated coarse grid."""

    level: int
    tint: tuple[int, int, int]
    gradient: tuple[int, int]
    grid: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Distractor:
    """A piece of clutter: an ellipse (full axes ``length``, ``width``) or a bar (``length`` x ``width``), in pixels."""

    kind: str
    centre: tuple[int, int]
    length: int
    width: int
    angle: int
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Pose:
    """Where one object (or one part of a pair) is drawn: centre ``(x, y)`` and radius in pixels, angle in degrees."""

    centre: tuple[int, int]
    radius: int
    angle: int


@dataclass(frozen=True)
class Scene:
    """Every random choice of an image: background, clutter, the object's parts and its texture's phase.

    ``centre`` is the object's centre (for a pair, the midpoint of the two
    parts); ``phase`` offsets the texture, in projection units (``UNIT`` per pixel).
    """

    size: int
    background: Background
    clutter: tuple[Distractor, ...]
    centre: tuple[int, int]
    parts: tuple[Pose, ...]
    phase: tuple[int, int]


def choose_scene(draws: Draws, facet: Facet, size: int) -> Scene:
    """All random choices of an image of ``facet`` at ``size`` x ``size``, in a fixed order (see the code).

    Sizes scale with the image: a single object's radius is 9/64..18/64 of
    the size (36..72 pixels at 256), a pair's parts 6/64..11/64 each, their
    centres 2 (radius + gap) apart along one of 12 directions, gap 1/64..1/16
    of the size (at least 1 pixel), give or take the rounding of the offset to
    whole pixels (under 1.5 pixels): the parts never touch.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size {size}: {MIN_SIZE}..{MAX_SIZE}")
    background = Background(
        level=draws.integer(104, 160),
        tint=(draws.integer(-10, 10), draws.integer(-10, 10), draws.integer(-10, 10)),
        gradient=(draws.integer(-32, 32), draws.integer(-32, 32)),
        grid=tuple(tuple(draws.integer(-12, 12) for _ in range(GRID)) for _ in range(GRID)),
    )
    angle = ANGLE_STEP * draws.integer(0, len(DIRECTIONS) - 1)
    if facet.layout == "one":
        radius = draws.integer(size * 9 // 64, size * 18 // 64)
        offset = (0, 0)
    else:
        radius = draws.integer(size * 6 // 64, size * 11 // 64)
        half_distance = radius + draws.integer(max(1, size // 64), max(1, size // 16))
        c, s = DIRECTIONS[draws.integer(0, len(DIRECTIONS) // 2 - 1)]
        offset = ((half_distance * c + ONE // 2) >> 14, (half_distance * s + ONE // 2) >> 14)
    cx = draws.integer(radius + 1 + abs(offset[0]), size - 1 - radius - abs(offset[0]))
    cy = draws.integer(radius + 1 + abs(offset[1]), size - 1 - radius - abs(offset[1]))
    centres = (
        [(cx, cy)] if facet.layout == "one" else [(cx - offset[0], cy - offset[1]), (cx + offset[0], cy + offset[1])]
    )
    parts = tuple(Pose(centre, radius, angle) for centre in centres)
    phase = (draws.integer(0, UNIT * size - 1), draws.integer(0, UNIT * size - 1))
    clutter = tuple(_choose_distractor(draws, size) for _ in range(draws.integer(4, 9)))
    return Scene(size, background, clutter, (cx, cy), parts, phase)


def _choose_distractor(draws: Draws, size: int) -> Distractor:
    """One distractor: kind, centre (anywhere in the image), extent, angle, then its muted colour."""
    kind = CLUTTER_KINDS[draws.integer(0, len(CLUTTER_KINDS) - 1)]
    centre = (draws.integer(0, size - 1), draws.integer(0, size - 1))
    if kind == "ellipse":
        length = draws.integer(size * 12 // 256, size * 32 // 256)
        width = draws.integer(max(2, length // 5), length * 2 // 3)
    else:
        length = draws.integer(size * 16 // 256, size * 56 // 256)
        width = draws.integer(max(1, size // 128), max(1, size // 64))
    angle = ANGLE_STEP * draws.integer(0, len(DIRECTIONS) - 1)
    grey = draws.integer(72, 184)
    rgb = tuple(grey + draws.integer(-CLUTTER_TINT, CLUTTER_TINT) for _ in range(3))
    return Distractor(kind, centre, length, width, angle, (rgb[0], rgb[1], rgb[2]))


def render_background(background: Background, size: int) -> np.ndarray:
    """The background as int32 ``(size, size, 3)``: level + gradient + interpolated grid, plus the tint per channel.

    The gradient adds ``gx * (2x + 1 - size) // (2 size)`` along x (and the
    same along y), and the grid is interpolated bilinearly at pixel centres
    with integer weights, rounded half up.
    """
    twice = 2 * size
    centres = 2 * np.arange(size, dtype=np.int64) + 1
    gx, gy = background.gradient
    ramp = (gx * (centres - size) // twice)[None, :] + (gy * (centres - size) // twice)[:, None]
    position = centres * (GRID - 1)
    cell, weight = position // twice, position % twice
    grid = np.array(background.grid, dtype=np.int64)
    along_x = grid[:, cell] * (twice - weight) + grid[:, cell + 1] * weight
    both = along_x[cell, :] * (twice - weight)[:, None] + along_x[cell + 1, :] * weight[:, None]
    offsets = (both + twice * twice // 2) // (twice * twice)
    level = background.level + ramp + offsets
    return (level[:, :, None] + np.array(background.tint, dtype=np.int64)).astype(np.int32)


def _box(centre: tuple[int, int], reach: int, size: int) -> tuple[int, int, int, int] | None:
    """Pixel box ``x0, x1, y0, y1`` (ends excluded) around ``centre`` within ``reach`` pixels, clipped to the image."""
    x0, x1 = max(0, centre[0] - reach), min(size, centre[0] + reach + 1)
    y0, y1 = max(0, centre[1] - reach), min(size, centre[1] + reach + 1)
    return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None


def _offsets(box: tuple[int, int, int, int], centre: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``box`` relative to ``centre``, in eighths of a pixel: dx ``(1, w*4)`` and dy ``(h*4, 1)``."""
    x0, x1, y0, y1 = box
    dx = 8 * x0 + 2 * np.arange((x1 - x0) * SUPERSAMPLE, dtype=np.int64) + 1 - 8 * centre[0]
    dy = 8 * y0 + 2 * np.arange((y1 - y0) * SUPERSAMPLE, dtype=np.int64) + 1 - 8 * centre[1]
    return dx[None, :], dy[:, None]


def _project(dx: np.ndarray, dy: np.ndarray, k: int) -> np.ndarray:
    """The samples' coordinate along table direction k (15 k degrees), in projection units (``UNIT`` per pixel)."""
    c, s = DIRECTIONS[k % len(DIRECTIONS)]
    return c * dx + s * dy


def _within(u: np.ndarray, half: int) -> np.ndarray:
    """``-half < u <= half``: half-open, so samples exactly on the two opposite edges count once between them.

    (At 45 degrees a square's edges run through rows of samples; a closed
    interval would count all of them and make the square a pixel too wide.)
    """
    return (u > -half) & (u <= half)


def shape_samples(shape: str, dx: np.ndarray, dy: np.ndarray, radius: int, k: int) -> np.ndarray:
    """Which samples (offsets ``dx``, ``dy`` in eighths) lie in ``shape`` of ``radius`` pixels turned 15 k degrees.

    Disc: distance <= radius.  Square: half side radius / sqrt(2).
    Triangle: equilateral, edges radius / 2 from the centre, a corner pointing
    up at angle 0.  Cross: two arms 6 x 2 half-widths, half-width radius / sqrt(10).
    """
    reach = radius * UNIT
    if shape == "disc":
        return dx * dx + dy * dy <= (8 * radius) ** 2
    u, v = _project(dx, dy, k), _project(dx, dy, k + 6)
    if shape == "square":
        half = reach * INV_SQRT2 >> 14
        return _within(u, half) & _within(v, half)
    if shape == "triangle":
        inner = reach // 2
        return (v <= inner) & (_project(dx, dy, k + 14) <= inner) & (_project(dx, dy, k + 22) <= inner)
    if shape == "cross":
        narrow = reach * INV_SQRT10 >> 14
        return (_within(u, 3 * narrow) & _within(v, narrow)) | (_within(u, narrow) & _within(v, 3 * narrow))
    raise ValueError(f"shape {shape!r}: unknown")


def texture_samples(
    texture: str, dx: np.ndarray, dy: np.ndarray, radius: int, k: int, phase: tuple[int, int]
) -> np.ndarray:
    """Which samples take the dark tone of ``texture`` (in the object's frame, shifted by ``phase``).

    Stripes: bands of 2/9 radius across the object's x axis.  Checker:
    cells of 2/5 radius.  Dots: discs of diameter 0.6 pitch on a grid of
    pitch 2/5 radius.  Solid: none.
    """
    reach = radius * UNIT
    u = _project(dx, dy, k) + phase[0]
    v = _project(dx, dy, k + 6) + phase[1]
    if texture == "solid":
        return np.zeros(np.broadcast_shapes(dx.shape, dy.shape), dtype=bool)
    if texture == "stripes":
        return (u // (reach * 2 // 9)) % 2 == 1
    if texture == "checker":
        cell = reach * 2 // 5
        return (u // cell + v // cell) % 2 == 1
    if texture == "dots":
        pitch = reach * 2 // 5
        du, dv = u % pitch - pitch // 2, v % pitch - pitch // 2
        return du * du + dv * dv <= (pitch * 3 // 10) ** 2
    raise ValueError(f"texture {texture!r}: unknown")


def distractor_samples(distractor: Distractor, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Which samples lie in ``distractor`` (an ellipse tested at 1/128 pixel, or a bar)."""
    k = distractor.angle // ANGLE_STEP
    u, v = _project(dx, dy, k), _project(dx, dy, k + 6)
    length, width = distractor.length, distractor.width
    if distractor.kind == "ellipse":
        u, v = u >> 10, v >> 10
        return (2 * u * width) ** 2 + (2 * v * length) ** 2 <= (length * width * 128) ** 2
    if distractor.kind == "bar":
        return (np.abs(2 * u) <= length * UNIT) & (np.abs(2 * v) <= width * UNIT)
    raise ValueError(f"distractor kind {distractor.kind!r}: unknown")


def _counts(samples: np.ndarray) -> np.ndarray:
    """Per pixel, how many of its 16 samples are set (uint8)."""
    height, width = samples.shape[0] // SUPERSAMPLE, samples.shape[1] // SUPERSAMPLE
    return samples.reshape(height, SUPERSAMPLE, width, SUPERSAMPLE).sum(axis=(1, 3), dtype=np.uint8)


def _mix(canvas: np.ndarray, box: tuple[int, int, int, int], tones: list[tuple[np.ndarray, tuple[int, ...]]]) -> None:
    """Lay colours over ``canvas[box]``: ``tones`` pairs sample counts with an RGB; the rest keeps what lies below.

    New value: (below * (16 - sum of counts) + sum of rgb * count + 8) // 16.
    """
    x0, x1, y0, y1 = box
    below = canvas[y0:y1, x0:x1]
    total = np.zeros(below.shape[:2], dtype=np.int32)
    mixed = np.zeros(below.shape, dtype=np.int32)
    for counts, rgb in tones:
        total += counts
        mixed += counts[:, :, None].astype(np.int32) * np.array(rgb, dtype=np.int32)
    canvas[y0:y1, x0:x1] = (below * (SAMPLES - total[:, :, None]) + mixed + SAMPLES // 2) // SAMPLES


def render(scene: Scene, facet: Facet, colour: Colour) -> tuple[np.ndarray, np.ndarray]:
    """The image (uint8 ``(size, size, 3)``) and the object's coverage (uint8 ``(size, size)``, 0..16) of a scene.

    Background, then the distractors in order, then the object's parts on
    top; a coverage count is the number of a pixel's 16 samples inside the
    object, whatever lies below.
    """
    size = scene.size
    canvas = render_background(scene.background, size)
    for distractor in scene.clutter:
        box = _box(distractor.centre, distractor.length // 2 + 2, size)
        if box is not None:
            dx, dy = _offsets(box, distractor.centre)
            _mix(canvas, box, [(_counts(distractor_samples(distractor, dx, dy)), distractor.rgb)])
    coverage = np.zeros((size, size), dtype=np.uint8)
    for part in scene.parts:
        box = _box(part.centre, part.radius + 1, size)
        assert box is not None
        dx, dy = _offsets(box, part.centre)
        k = part.angle // ANGLE_STEP
        inside = shape_samples(facet.shape, dx, dy, part.radius, k)
        dark = inside & texture_samples(facet.texture, dx, dy, part.radius, k, scene.phase)
        covered, shaded = _counts(inside), _counts(dark)
        _mix(canvas, box, [(covered - shaded, colour.rgb), (shaded, colour.shade)])
        x0, x1, y0, y1 = box
        coverage[y0:y1, x0:x1] += covered
    return np.clip(canvas, 0, 255).astype(np.uint8), coverage
