"""End to end: a folder of images -> mfv facets -> mfv visualize --facets (two facets, short preset)."""

import json

import numpy as np
from PIL import Image

from mfv_cli.main import main
from tests.test_facets import write_families


def test_facets_feed_visualize_for_two_facets(tmp_path, capsys):
    write_families(tmp_path / "images", per_family=12, seed=3)
    assert (
        main(
            [
                "facets",
                "--images",
                str(tmp_path / "images"),
                "--layer",
                "fc7",
                "--k",
                "2",
                "--m",
                "5",
                "--seed",
                "0",
                "--out",
                str(tmp_path / "facets"),
            ]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "facets" / "facets.json").read_text())
    assert len(manifest["facets"]) == 2

    assert (
        main(
            [
                "visualize",
                "--unit",
                "945",
                "--seed",
                "1",
                "--iterations-scale",
                "0.02",
                "--quiet",
                "--facets",
                str(tmp_path / "facets"),
                "--out",
                str(tmp_path / "vis"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "2 run(s)" in printed and "WARNING: no --weights" in printed
    for j, facet in enumerate(manifest["facets"]):
        out = tmp_path / "vis" / f"facet_{j}"
        run = json.loads((out / "run.json").read_text())
        assert run["start"].endswith(facet["mean_png"])
        final = np.load(out / "final.npy")
        assert final.shape == (272, 272, 3) and np.isfinite(final).all()
        assert (out / "fc8_0945.jpg").exists()
    first = np.load(tmp_path / "vis" / "facet_0" / "final.npy")
    assert not np.array_equal(first, np.load(tmp_path / "vis" / "facet_1" / "final.npy"))

    assert (
        main(
            [
                "visualize",
                "--unit",
                "945",
                "--iterations-scale",
                "0.02",
                "--quiet",
                "--facets",
                str(tmp_path / "facets" / "mean_0.png"),
                "--out",
                str(tmp_path / "bad"),
            ]
        )
        == 2
    )
    assert "is no facets directory" in capsys.readouterr().err


def test_a_facet_mean_image_is_a_valid_start(tmp_path):
    write_families(tmp_path / "images", per_family=12, seed=4)
    assert (
        main(["facets", "--images", str(tmp_path / "images"), "--k", "2", "--m", "5", "--out", str(tmp_path / "f")])
        == 0
    )
    start = tmp_path / "f" / "mean_1.jpg"
    assert Image.open(start).size == (227, 227)
    assert (
        main(
            [
                "visualize",
                "--unit",
                "3",
                "--iterations-scale",
                "0.02",
                "--quiet",
                "--start",
                str(start),
                "--out",
                str(tmp_path / "v"),
            ]
        )
        == 0
    )
