"""The port's image: `mfv visualize` in a container gives the host's bits (same wheels, same CPU, one
thread each), and the port's own tests pass inside.

The working tree is mounted read-only over the image's copy of the sources, so
that what runs is what is tested; weights come in through a mount, never the
image.  The container has no network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parity.stacks.docker_client import DockerClient, client_environment

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]
# The port's own tests, run in the image without their Caffe-marked cases: the Caffe reader, writer,
# schema and layer errors, the numerics of port/ops, the network and the MFV loop (about 270 tests,
# a minute on one core).  Without a GPU only their CUDA cases skip.
IN_IMAGE_TESTS = [
    "tests/test_caffe_reader.py",
    "tests/test_caffe_writer.py",
    "tests/test_caffe_schema.py",
    "tests/test_caffe_layer_errors.py",
    "tests/test_ops.py",
    "tests/test_ops_zoom.py",
    "tests/test_ops_tv_bregman.py",
    "tests/test_ops_strided_conv.py",
    "tests/test_network.py",
    "tests/test_mfv_loop.py",
]
PORT_ONLY = ["-m", "not legacy and not docker", "-p", "no:cacheprovider", *IN_IMAGE_TESTS]
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


# What the port's arithmetic is made of besides the CPU: the interpreter (its wheels' ABI), the C library
# (libm) and the numerical packages.  Equal in the image and on the host, the same CPU and one thread give
# the same bits by construction; this project's hosts are Debian bookworm with Python 3.11, as the image.
BUILD = (
    "import sys, platform, numba, numpy, scipy, skimage, torch; "
    "print(sys.version_info[:2], platform.libc_ver(), [m.__version__ for m in (numba, numpy, scipy, skimage, torch)])"
)


def test_visualize_in_the_image_gives_the_host_s_run(
    port_image: DockerClient, caffenet_job_files: dict[str, Path], tmp_path: Path
) -> None:
    inside = run_in_port_image(port_image, {}, "-c", BUILD)
    assert inside.returncode == 0, inside.stderr
    here = subprocess.run([sys.executable, "-c", BUILD], capture_output=True, text=True, check=True)
    if inside.stdout != here.stdout:
        pytest.skip(
            f"the image is built of {inside.stdout.strip()}, this host of {here.stdout.strip()}: no bitwise claim"
        )
    weights = caffenet_job_files["weights"]
    (tmp_path / "out").mkdir()
    mounts = {weights.parent: "/weights:ro", tmp_path / "out": "/out"}
    done = run_in_port_image(
        port_image, mounts, "-m", "mfv_cli", *VISUALIZE, "--weights", f"/weights/{weights.name}", "--out", "/out/run"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    host = subprocess.run(
        [sys.executable, "-m", "mfv_cli", *VISUALIZE, "--weights", str(weights), "--out", str(tmp_path / "host")],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
    )
    assert host.returncode == 0, host.stdout + host.stderr
    image_files = sorted(p.relative_to(tmp_path / "out" / "run") for p in (tmp_path / "out" / "run").rglob("*"))
    host_files = sorted(p.relative_to(tmp_path / "host") for p in (tmp_path / "host").rglob("*"))
    assert image_files == host_files and Path("final.npy") in host_files
    image_final = np.load(tmp_path / "out" / "run" / "final.npy")
    host_final = np.load(tmp_path / "host" / "final.npy")
    assert image_final.shape == host_final.shape and host_final.shape[2] == 3
    assert image_final.tobytes() == host_final.tobytes()


def test_port_only_tests_pass_in_the_image(port_image: DockerClient) -> None:
    """Every test the host collects from ``IN_IMAGE_TESTS`` passes in the image, or skips for want of CUDA."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *PORT_ONLY],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    expected = int(re.search(r"(\d+)(?:/\d+)? tests? collected", collected.stdout)[1])
    done = run_in_port_image(port_image, {}, "-m", "pytest", "-q", "-rs", *PORT_ONLY)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (passed|skipped)", done.stdout.splitlines()[-1])}
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("no CUDA device" in line for line in skips), skips
    assert counts.get("passed", 0) + counts.get("skipped", 0) == expected > 250, (counts, expected)
