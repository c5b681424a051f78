"""The docker-py27 stack against the py27 chroot, both from parity/recipes/py27.sh: the same
packages, the same bits on a CaffeNet layers job, and the published 2016 script run unchanged
in the image giving the chroot's run bit for bit (370 steps on the tiny net; both stacks at once,
one BLAS thread each)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from parity.comparisons.original import run_original
from parity.stacks import DockerStack, LegacyStack
from tests.shared_data import ORIGINAL, needs
from tests.test_docker_stacks import FC8_TARGETS, assert_same_arrays, python_in_image

pytestmark = [pytest.mark.docker, pytest.mark.legacy]

SCRIPTS_DIR = ORIGINAL / "original"
NET = Path(__file__).parent / "nets" / "tiny_original.prototxt"


def test_py27_image_holds_the_py27_chroot_s_packages(docker_py27: DockerStack, legacy_py27_stack: LegacyStack) -> None:
    image = docker_py27.run("environment").manifest["environment"]
    chroot = legacy_py27_stack.run("environment").manifest["environment"]
    assert image["python"].startswith("2.7.") and image["versions"]["numpy"] == "1.11.0"
    assert image["versions"] == chroot["versions"]
    assert image["debian_packages"] == chroot["debian_packages"]


def test_legacy_caffe_is_inside_the_py27_image(docker_py27: DockerStack) -> None:
    found = python_in_image(docker_py27, "import caffe, legacy_caffe.protocol as p; print(p.__file__)")
    assert found in {"/usr/local/lib/python2.7/dist-packages/legacy_caffe/protocol." + end for end in ("py", "pyc")}


def test_py27_layers_job_is_bitwise_the_chroot_s(
    docker_py27: DockerStack, legacy_py27_stack: LegacyStack, caffenet_job_files: dict[str, Path]
) -> None:
    params = {"targets": FC8_TARGETS, "pool_masks": True}
    image, chroot = (stack.run("layers", params, caffenet_job_files) for stack in (docker_py27, legacy_py27_stack))
    assert image.manifest["job"] == chroot.manifest["job"] and "diff/0/data" in image.arrays
    assert_same_arrays(image.arrays, chroot.arrays)


@needs(SCRIPTS_DIR)
def test_original_script_runs_unchanged_in_the_py27_image(
    docker_py27: DockerStack, legacy_py27_stack: LegacyStack, tmp_path: Path
) -> None:
    weights = docker_py27.run("make_weights", {"seed": 5}, {"prototxt": NET}, out_dir=tmp_path / "made")
    start = tmp_path / "start.jpg"
    PIL.Image.fromarray(np.random.RandomState(1).randint(0, 256, (128, 128, 3)).astype(np.uint8)).save(start)
    with ThreadPoolExecutor(2) as pool:
        image, chroot = pool.map(
            lambda stack: run_original(
                stack,
                SCRIPTS_DIR,
                center=False,
                prototxt=NET,
                weights=weights.files["weights.caffemodel"],
                unit=3,
                seed=1,
                start=start,
                warn=pytest.fail,
                threads=1,
            ),
            (docker_py27, legacy_py27_stack),
        )
    assert image.published and image.ended == chroot.ended == "finished"
    assert len(image.steps) == 370 and image.steps == chroot.steps
    assert image.image.tobytes() == chroot.image.tobytes() and image.jpeg == chroot.jpeg
