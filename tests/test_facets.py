"""Facets: families recovered, byte-for-byte determinism, skipped files, image modes, clear errors.

The image set is generated here: four families that a viewer tells apart at
a glance, in two pairs that share a palette (so colour alone cannot separate
them): stripes and checkerboards in red/yellow, discs and linear gradients
in green/pink.  Each image has its own size, palette jitter, frequency,
phase, tilt or position, and pixel noise, and is stored as RGB, RGBA or
CMYK, PNG or JPEG.  The net is CaffeNet with its deterministic random
weights (no pretrained weights here); its fc7 codes still separate the
families once t-SNE has embedded them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import adjusted_rand_score

from mfv_cli.main import main
from port.facets import make_facets
from port.facets.cluster import check_counts, cluster_codes, kmeans, nearest_to_centroids, reduce_pca, tsne_perplexity
from port.facets.images import UnreadableImageError, list_images, read_rgb
from port.facets.outputs import mean_image
from port.models import caffenet
from tests.exit_status import exit_status
from tests.shared_data import BELL_PEPPER_MEAN_0, needs

PALETTES = {"warm": ((230, 60, 40), (250, 220, 60)), "cool": ((40, 140, 50), (250, 130, 200))}
FAMILIES = ("stripes", "checks", "blobs", "ramps")
PER_FAMILY = 40
K, M = len(FAMILIES), 5
CORRUPT = {"zz_empty.jpg": b"", "zz_noise.jpg": bytes(range(256)) * 4}


def _pattern(family: str, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A 0..1 map of one family's pattern."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    if family == "stripes":
        tilt = rng.uniform(-0.3, 0.3)
        wave = np.sin(2 * np.pi * rng.uniform(5, 9) * (y * np.cos(tilt) + x * np.sin(tilt)) + rng.uniform(0, 6.3))
        return (wave > 0).astype(float)
    if family == "checks":
        cell = rng.uniform(0.08, 0.15)
        return (np.floor(x / cell + rng.uniform()) + np.floor(y / cell + rng.uniform())) % 2
    if family == "blobs":
        discs = [
            np.hypot(x - cx, y - cy) < r
            for cx, cy, r in rng.uniform((0.2, 0.2, 0.08), (0.8, 0.8, 0.2), (rng.integers(2, 5), 3))
        ]
        return np.max(discs, axis=0).astype(float)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = x * np.cos(angle) + y * np.sin(angle)
    return (ramp - ramp.min()) / np.ptp(ramp)


def family_image(family: str, rng: np.random.Generator) -> Image.Image:
    """One image of ``family``: its own size, palette jitter and noise."""
    height, width = rng.integers(96, 128, 2)
    ink, paper = (
        np.array(c) + rng.uniform(-25, 25, 3) for c in PALETTES["warm" if FAMILIES.index(family) < 2 else "cool"]
    )
    t = _pattern(family, rng, height, width)[..., None]
    rgb = ink * t + paper * (1 - t) + rng.normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


STORAGE = (("png", "RGB"), ("png", "RGBA"), ("jpg", "CMYK"), ("jpg", "RGB"), ("jpg", "RGB"))


def write_families(folder: Path, per_family: int, seed: int) -> dict[str, int]:
    """Write ``per_family`` images of each family; return file name -> family.

    Files cycle through ``STORAGE``: RGB, opaque RGBA and CMYK, PNG and JPEG.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = {}
    for i in range(per_family):
        for label, family in enumerate(FAMILIES):
            suffix, mode = STORAGE[i % len(STORAGE)]
            name = f"{family}_{i:03d}.{suffix}"
            family_image(family, rng).convert(mode).save(folder / name)
            labels[name] = label
    return labels


@pytest.fixture(scope="module")
def net():
    return caffenet()


@pytest.fixture(scope="module")
def families(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("families")
    labels = write_families(folder, PER_FAMILY, seed=0)
    for name, data in CORRUPT.items():
        (folder / name).write_bytes(data)
    png = io.BytesIO()
    family_image("stripes", np.random.default_rng(1)).save(png, format="PNG")
    (folder / "zz_truncated.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    (folder / "notes.txt").write_text("not an image")
    return folder, labels


@pytest.fixture(scope="module")
def runs(net, families, tmp_path_factory):
    """The same facets run twice, into two directories."""
    out = tmp_path_factory.mktemp("facets")
    return [
        make_facets(net, families[0], "fc7", K, M, seed=0, out_dir=out / name, batch_size=16, progress=False)
        for name in ("first", "second")
    ]


def test_clusters_recover_the_families(runs, families):
    records = json.loads((runs[0].out_dir / "images.json").read_text())["images"]
    truth = [families[1][r["file"]] for r in records]
    ari = adjusted_rand_score(truth, [r["cluster"] for r in records])
    assert ari >= 0.9, f"adjusted Rand index {ari:.3f}"


def test_same_seed_writes_the_same_bytes(runs):
    first, second = (sorted(p.relative_to(r.out_dir) for p in r.out_dir.rglob("*")) for r in runs)
    assert first == second
    for name in first:
        assert (runs[0].out_dir / name).read_bytes() == (runs[1].out_dir / name).read_bytes(), name


def test_corrupt_files_are_skipped_and_listed(runs, families):
    result = runs[0]
    expected = {*CORRUPT, "zz_truncated.png"}
    assert {s.path.name for s in result.skipped} == expected
    manifest = json.loads(result.manifest.read_text())
    assert {s["file"] for s in manifest["skipped"]} == expected
    assert all(s["file"] in s["reason"] for s in manifest["skipped"])
    assert manifest["n_images"] == len(result.paths) == len(families[1])


def test_manifest_lists_mean_images_in_order_with_the_run(runs, families):
    result = runs[0]
    manifest = json.loads(result.manifest.read_text())
    assert manifest["run"]["layer"] == "fc7" and manifest["run"]["k"] == K and manifest["run"]["m"] == M
    assert manifest["run"]["seed"] == 0 and "not pretrained" in manifest["run"]["weights"]
    sizes = [f["cluster_size"] for f in manifest["facets"]]
    assert sizes == sorted(sizes, reverse=True) == result.cluster_sizes and sum(sizes) == len(result.paths)
    assert [f["mean_jpg"] for f in manifest["facets"]] == [p.name for p in result.mean_images]
    for facet in manifest["facets"]:
        assert len(facet["nearest"]) == M and facet["members_among_nearest"] == M
    records = json.loads((result.out_dir / "images.json").read_text())["images"]
    assert len(records) == len(result.paths) and sum(r["rank"] is not None for r in records) == K * M
    assert {"tsne.png", "images.json", "index.html"} <= {p.name for p in result.out_dir.iterdir()}


def test_mean_image_is_the_rounded_mean_of_the_nearest_images(runs, families):
    facet = json.loads(runs[0].manifest.read_text())["facets"][1]
    images = np.stack([read_rgb(families[0] / name, (227, 227)) for name in facet["nearest"]])
    expected = np.rint(images.mean(axis=0, dtype=np.float64)).astype(np.uint8)
    with Image.open(runs[0].out_dir / facet["mean_png"]) as png:
        np.testing.assert_array_equal(np.asarray(png), expected)


@needs(BELL_PEPPER_MEAN_0)
def test_mean_jpeg_has_the_original_mean_images_format(runs):
    facet = json.loads(runs[0].manifest.read_text())["facets"][1]
    with Image.open(runs[0].out_dir / facet["mean_jpg"]) as ours, Image.open(BELL_PEPPER_MEAN_0) as original:
        assert (ours.format, ours.mode, ours.size) == (original.format, original.mode, original.size)
        assert ours.quantization == original.quantization
        assert ours.layer == original.layer


def test_mean_image_rounds_to_nearest():
    images = np.array([[[[0, 1, 254]]], [[[1, 1, 255]]], [[[1, 2, 255]]]], dtype=np.uint8)
    np.testing.assert_array_equal(mean_image(images), [[[1, 1, 255]]])


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        *((mode, "PNG") for mode in ("L", "LA", "P", "RGBA", "1", "I;16", "RGB")),
        *((mode, "JPEG") for mode in ("L", "CMYK", "RGB")),
    ],
)
def test_any_mode_and_size_reads_as_rgb_at_the_input_size(tmp_path, mode, fmt):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (31, 517, 3), dtype=np.uint8))
    source = (
        Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)) if mode == "I;16" else rgb.convert(mode)
    )
    path = tmp_path / f"odd.{fmt.lower()}"
    source.save(path, format=fmt)
    with Image.open(path) as stored:
        assert stored.mode == mode
    image = read_rgb(path, (227, 227))
    assert image.shape == (227, 227, 3) and image.dtype == np.uint8
    if mode in ("L", "LA", "1", "I;16"):
        assert (image == image[..., :1]).all()


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    Image.fromarray(np.full((5, 7), 40000, dtype=np.uint16)).save(tmp_path / "deep.png")
    assert (read_rgb(tmp_path / "deep.png", (5, 7)) == round(40000 / 257)).all()


def test_alpha_is_dropped_and_colour_kept(tmp_path):
    Image.new("RGBA", (4, 4), (10, 200, 30, 0)).save(tmp_path / "clear.png")
    assert (read_rgb(tmp_path / "clear.png", (4, 4)) == (10, 200, 30)).all()


def test_unreadable_file_names_itself(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(UnreadableImageError, match="bad.jpg"):
        read_rgb(tmp_path / "bad.jpg", (227, 227))


def test_listing_is_sorted_and_case_blind(tmp_path):
    for name in ("b.PNG", "a.JPEG", "c.jpg", ".hidden.jpg", "d.gif", "e.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPEG", "b.PNG", "c.jpg"]


def test_bad_folders_and_counts_are_clear_errors_and_write_nothing(net, tmp_path, families):
    out = tmp_path / "out"
    (tmp_path / "empty").mkdir()
    (tmp_path / "few").mkdir()
    write_families(tmp_path / "few", 2, seed=3)
    cases = [
        (dict(image_dir=tmp_path / "missing"), FileNotFoundError, "no such folder"),
        (dict(image_dir=tmp_path / "empty"), ValueError, "no JPEG or PNG"),
        (dict(image_dir=families[0] / "notes.txt"), ValueError, "not a folder"),
        (dict(k=0), ValueError, "--k 0"),
        (dict(m=-1), ValueError, "--m -1"),
        (dict(image_dir=tmp_path / "few", k=3, m=4), ValueError, "8 readable images are too few for --k 3"),
        (dict(layer="fc9"), ValueError, "--layer fc9: .* has no blob"),
        (dict(batch_size=0), ValueError, "--batch-size 0"),
    ]
    for overrides, error, message in cases:
        kwargs = {
            "image_dir": families[0],
            "layer": "fc7",
            "k": K,
            "m": M,
            "seed": 0,
            "out_dir": out,
            "progress": False,
            **overrides,
        }
        with pytest.raises(error, match=message):
            make_facets(net, **kwargs)
        assert not out.exists()


def test_skipped_files_counting_against_k_times_m_is_a_clear_error(net, tmp_path):
    write_families(tmp_path, 1, seed=4)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(
        ValueError,
        match="4 readable images are too few for --k 1 facets of --m 5 .*1 of 5 files are unreadable: broken.png",
    ):
        make_facets(net, tmp_path, "pool5", 1, 5, 0, tmp_path / "out", progress=False)


def test_cli_warns_about_random_weights_and_writes_facets(tmp_path, capsys):
    write_families(tmp_path / "images", 3, seed=5)
    argv = [
        "facets",
        "--images",
        str(tmp_path / "images"),
        "--layer",
        "pool5",
        "--k",
        "2",
        "--m",
        "3",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "WARNING: no --weights" in captured.err and "not pretrained" in captured.err
    assert "wrote 2 facets of 12 images" in captured.out
    assert json.loads((tmp_path / "out" / "facets.json").read_text())["run"]["layer"] == "pool5"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--k", "0"], "argument --k: 0 is not at least 1"),
        (["--weights", "{dir}/junk.caffemodel"], "junk.caffemodel"),
        (["--prototxt", "{dir}/missing.prototxt"], "missing.prototxt"),
    ],
)
def test_cli_bad_input_exits_2_naming_it(tmp_path, capsys, extra, message):
    (tmp_path / "junk.caffemodel").write_bytes(b"junk")
    argv = ["facets", "--images", str(tmp_path), "--out", str(tmp_path / "o"), *(a.format(dir=tmp_path) for a in extra)]
    assert exit_status(argv) == 2
    assert "error: " in (err := capsys.readouterr().err) and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_counts_rules():
    assert tsne_perplexity(1300) == 30.0 and tsne_perplexity(31) == 10.0
    check_counts(4, 1, 1)
    with pytest.raises(ValueError, match="need at least 4"):
        check_counts(3, 1, 1)


def test_pca_keeps_what_a_small_set_has():
    assert reduce_pca(np.random.default_rng(0).normal(size=(12, 7))).shape == (12, 7)
    assert reduce_pca(np.random.default_rng(0).normal(size=(60, 80))).shape == (60, 50)


def test_kmeans_numbers_clusters_by_size_and_nearest_breaks_ties_by_index():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(c, 0.1, (n, 2)) for c, n in (((0, 0), 5), ((9, 9), 20), ((0, 9), 10))])
    labels, centroids = kmeans(points, 3, seed=0)
    assert np.bincount(labels).tolist() == [20, 10, 5]
    np.testing.assert_allclose(centroids[0], (9, 9), atol=0.1)
    square = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1], [3, 3]])
    assert nearest_to_centroids(square, np.zeros((1, 2)), 3).tolist() == [[0, 1, 2]]


def test_identical_codes_are_a_clear_error():
    with pytest.raises(ValueError, match="same code"):
        cluster_codes(np.ones((10, 5), dtype=np.float32), 2, 2, seed=0)
