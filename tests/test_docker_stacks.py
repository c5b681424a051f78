"""The docker-bullseye stack against the bullseye chroot: the same bits from the same Debian packages,
and the container's hygiene (removed on timeout, refused when out of date, clear errors).

Both stacks run one job each on the same inputs; every array must match byte
for byte, which holds by construction only if the two environments are the
same Debian packages on the same CPU: the environment job checks that first.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from parity.comparisons.reference import run_reference
from parity.stacks import DockerStack, LegacyStack, LegacyStackError, LegacyTimeoutError, get_stack
from parity.stacks.docker_client import DOCKER_DIR, DockerClient, client_environment, recipe_hash
from parity.stacks.docker_engine import BASES, Image, build_image, start_engine, stop_engine
from port.caffe import Target
from port.mfv.loop import MFVConfig
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT

pytestmark = [pytest.mark.docker, pytest.mark.legacy]

FC8_TARGETS = [{"layer": "fc8", "unit": 945, "y": None, "x": None}, {"layer": "conv5", "unit": 3, "y": 6, "x": 6}]


def assert_same_arrays(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype and ours[key].shape == theirs[key].shape, key
        assert ours[key].tobytes() == theirs[key].tobytes(), key


def test_image_holds_the_chroot_packages(docker_bullseye: DockerStack, legacy_stack: LegacyStack) -> None:
    image = docker_bullseye.run("environment").manifest["environment"]
    chroot = legacy_stack.run("environment").manifest["environment"]
    assert image["versions"] == chroot["versions"] and image["versions"]["caffe"] == "1.0.0"
    assert image["debian_packages"] == chroot["debian_packages"]
    assert image["blas"]["openblas"]["corename"] == chroot["blas"]["openblas"]["corename"]


def python_in_image(stack: DockerStack, code: str) -> str:
    """Run ``python -c code`` in ``stack``'s image alone (no job folder, no network); return its output."""
    argv = DockerClient.find(stack.host).command(
        "run", "--rm", "--network", "none", stack.image, stack.python, "-c", code
    )
    return subprocess.run(argv, env=client_environment(), capture_output=True, text=True, check=True).stdout.strip()


def test_legacy_caffe_is_inside_the_image(docker_bullseye: DockerStack) -> None:
    found = python_in_image(docker_bullseye, "import caffe, legacy_caffe.protocol as p; print(p.__file__)")
    assert found == "/usr/local/lib/python3.9/dist-packages/legacy_caffe/protocol.py"


def test_layers_job_is_bitwise_the_chroot_s(
    docker_bullseye: DockerStack, legacy_stack: LegacyStack, caffenet_job_files: dict[str, Path]
) -> None:
    params = {"targets": FC8_TARGETS, "pool_masks": True}
    image = docker_bullseye.run("layers", params, caffenet_job_files)
    chroot = legacy_stack.run("layers", params, caffenet_job_files)
    assert image.manifest["job"] == chroot.manifest["job"]
    assert "blob/fc8" in image.arrays and "diff/0/data" in image.arrays and "mask/pool5" in image.arrays
    assert_same_arrays(image.arrays, chroot.arrays)


def test_whole_mfv_run_is_bitwise_the_chroot_s(
    docker_bullseye: DockerStack, legacy_stack: LegacyStack, caffenet_job_files: dict[str, Path]
) -> None:
    """The two stacks run at once, one BLAS thread each (the run's bits depend on the thread count,
    which both share), so the pair costs one run's time on two cores."""
    config = MFVConfig(Target("fc8", 945), preset("mean"))
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(
            lambda stack: run_reference(
                stack, CAFFENET_PROTOTXT, caffenet_job_files["weights"], config, 1, None, name="fc8", threads=1
            ),
            (docker_bullseye, legacy_stack),
        )
        (image_run, image_jpeg, _), (chroot_run, chroot_jpeg, _) = runs
    assert len(image_run.trace) == 370
    assert image_run.image.tobytes() == chroot_run.image.tobytes()
    assert image_jpeg == chroot_jpeg
    assert image_run.trace == chroot_run.trace


def test_timeout_kills_and_removes_the_container(
    docker_bullseye: DockerStack, caffenet_job_files: dict[str, Path]
) -> None:
    started = time.monotonic()
    with pytest.raises(LegacyTimeoutError, match="process group was killed"):
        docker_bullseye.run(
            "bench_fwd_bwd", {"repeats": 10**9, "target": FC8_TARGETS[0]}, caffenet_job_files, timeout=5
        )
    assert time.monotonic() - started < 60
    assert _job_containers(docker_bullseye.host) == []


def test_out_of_date_image_is_refused(docker_bullseye: DockerStack, tmp_path: Path) -> None:
    recipe = tmp_path / "legacy-bullseye"
    recipe.mkdir()
    dockerfile = (DOCKER_DIR / "legacy-bullseye" / "Dockerfile").read_text()
    (recipe / "Dockerfile").write_text(dockerfile + "RUN true\n")
    stale = DockerStack(docker_bullseye.image, "legacy-bullseye", host=docker_bullseye.host, recipes=tmp_path)
    with pytest.raises(LegacyStackError, match=r"image mfv-legacy-bullseye is older than .*legacy-bullseye"):
        stale.run("environment")


def test_missing_image_says_how_to_build_it(docker_bullseye: DockerStack) -> None:
    absent = DockerStack("mfv-no-such-image", "legacy-bullseye", host=docker_bullseye.host)
    with pytest.raises(LegacyStackError, match=r"has no image mfv-no-such-image: build it with `mfv docker setup"):
        absent.run("environment")


def test_unreachable_engine_says_so(tmp_path: Path) -> None:
    nowhere = f"unix://{tmp_path / 'no-engine.sock'}"
    with pytest.raises(LegacyStackError, match=r"no Docker engine answers at unix://.*no-engine.sock"):
        DockerStack("mfv-legacy-bullseye", "legacy-bullseye", host=nowhere).run("environment")


def test_a_changed_recipe_is_rebuilt_and_replaces_the_old_image(docker_bullseye: DockerStack, tmp_path: Path) -> None:
    """build_image on a throwaway recipe: built once, then reused while its recipe stands, rebuilt when the
    recipe changes, the image it replaces removed."""
    client = DockerClient.find(docker_bullseye.host)
    dockerfile = tmp_path / "docker" / "scratch" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    image = Image("mfv-test-scratch", "scratch", BASES["bullseye"])
    first_recipe = (
        "ARG BASE\nFROM ${BASE}\nARG RECIPE=\nLABEL org.mfv-port.recipe-sha256=${RECIPE}\nRUN echo 1 > /one\n"
    )
    dockerfile.write_text(first_recipe)
    try:
        assert build_image(client, image, repo=tmp_path, log=lambda line: None)
        first = client.image_id(image.name)
        assert not build_image(client, image, repo=tmp_path, log=lambda line: None)
        assert client.image_id(image.name) == first
        dockerfile.write_text(first_recipe.replace("echo 1", "echo 2"))
        assert build_image(client, image, repo=tmp_path, log=lambda line: None)
        assert client.image_label(image.name) == recipe_hash("scratch", tmp_path / "docker")
        assert client.image_id(image.name) != first and client.image_id(first) is None
    finally:
        client.remove_image(image.name)


def test_a_private_engine_stops_leaving_nothing_mounted(docker_bullseye: DockerStack) -> None:
    """A second private engine in a fresh folder: it answers, stops, and leaves no mount behind (dockerd
    leaves its network namespace file mounted), so its folder can be removed."""
    home = Path(tempfile.mkdtemp(prefix="mfv-engine-"))
    try:
        client = start_engine(home, log=lambda line: None)
        assert client.reachable() and client.host != docker_bullseye.host
        assert stop_engine(home) and not client.reachable()
        assert [line for line in Path("/proc/mounts").read_text().splitlines() if str(home) in line] == []
    finally:
        stop_engine(home)
        shutil.rmtree(home)
    assert not home.exists()


def test_get_stack_names_the_docker_stacks() -> None:
    stack = get_stack("docker-bullseye", timeout=12)
    assert isinstance(stack, DockerStack)
    assert (stack.image, stack.recipe, stack.timeout) == ("mfv-legacy-bullseye", "legacy-bullseye", 12)


def _job_containers(host: str) -> list[str]:
    listed = subprocess.run(
        DockerClient.find(host).command("ps", "--all", "--filter", "name=mfv-job-", "--format", "{{.Names}}"),
        env=client_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()
