"""The port's image: `mfv visualize` in a container gives the host's numbers, and port-only tests pass inside.

The working tree is mounted read-only over the image's copy of the sources, so
that what runs is what is tested; weights come in through a mount, never the
image.  The container has no network.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mfv_cli.main import main
from parity.docker_client import DockerClient, client_environment
from port.caffe import save_caffemodel
from port.models import CAFFENET_PROTOTXT, caffenet

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]
# Port-only tests that run in the image (none needs Caffe or ../shared; 109 tests, 19 s on the host): the
# Caffe reader and writer, and the zoom against scipy.  Without a GPU only their CUDA case skips.
IN_IMAGE_TESTS = ["tests/test_caffe_reader.py", "tests/test_caffe_writer.py", "tests/test_ops_zoom.py"]
VISUALIZE = ["visualize", "--unit", "945", "--iterations-scale", "0.02", "--device", "cpu", "--quiet"]


def run_in_port_image(client: DockerClient, mounts: dict[Path, str], *args: str) -> subprocess.CompletedProcess:
    """``docker run --rm --network none`` of the port's image with the working tree at /mfv-port and
    ../shared at /shared (read-only), as the calling user, ``python ARGS``."""
    argv = client.command("run", "--rm", "--network", "none", "--user", f"{os.getuid()}:{os.getgid()}")
    shared = {REPO.parent / "shared": "/shared:ro"} if (REPO.parent / "shared").is_dir() else {}
    for host, inside in {REPO: "/mfv-port:ro", **shared, **mounts}.items():
        argv += ["--volume", f"{host}:{inside}"]
    argv += ["--env", "HOME=/tmp", "--env", "OMP_NUM_THREADS=1", "--entrypoint", "python", "mfv-port", *args]
    return subprocess.run(argv, env=client_environment(), capture_output=True, text=True, timeout=1200)


def test_visualize_in_the_image_gives_the_host_s_run(port_image: DockerClient, tmp_path: Path) -> None:
    weights = tmp_path / "weights" / "random.caffemodel"
    weights.parent.mkdir()
    save_caffemodel(caffenet(seed=0), CAFFENET_PROTOTXT, weights)
    (tmp_path / "out").mkdir()
    mounts = {weights.parent: "/weights:ro", tmp_path / "out": "/out"}
    done = run_in_port_image(
        port_image, mounts, "-m", "mfv_cli", *VISUALIZE, "--weights", "/weights/random.caffemodel", "--out", "/out/run"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert main([*VISUALIZE, "--weights", str(weights), "--out", str(tmp_path / "host")]) == 0
    image_files = sorted(p.relative_to(tmp_path / "out" / "run") for p in (tmp_path / "out" / "run").rglob("*"))
    host_files = sorted(p.relative_to(tmp_path / "host") for p in (tmp_path / "host").rglob("*"))
    assert image_files == host_files and Path("final.npy") in host_files
    image_final = np.load(tmp_path / "out" / "run" / "final.npy")
    host_final = np.load(tmp_path / "host" / "final.npy")
    assert image_final.shape == host_final.shape and host_final.shape[2] == 3
    np.testing.assert_allclose(image_final, host_final, rtol=0, atol=1e-3)


def test_port_only_tests_pass_in_the_image(port_image: DockerClient) -> None:
    done = run_in_port_image(
        port_image,
        {},
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "-m",
        "not legacy and not docker",
        *IN_IMAGE_TESTS,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\b(\d+) passed", summary) and int(re.search(r"(\d+) passed", summary)[1]) >= 100, summary
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("no CUDA device" in line for line in skips), skips
