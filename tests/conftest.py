"""Fixtures and hooks shared by the test suite."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from parity.stacks import (
    DOCKER_STACKS,
    STACK_PYTHONS,
    ChrootStack,
    DockerStack,
    LegacyStackError,
    docker_engine,
    get_stack,
)
from parity.stacks.docker_client import DockerClient
from parity.stacks.provision import setup_chroot
from parity.stacks.provision_py27 import setup_py27
from port.caffe import save_caffemodel
from port.models import CAFFENET_PROTOTXT, caffenet
from tests.shared_data import check_shared_data

LEGACY_FIXTURES = {"legacy_stack", "legacy_py27_stack", "each_legacy_stack", "docker_bullseye", "docker_py27"}
DOCKER_FIXTURES = {"docker_bullseye", "docker_py27", "port_image"}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture starts: a test that starts Caffe must be marked ``legacy``
    (``-m "not legacy"`` is the fast suite, which never starts Caffe), and tests
    marked ``shared_data(path)`` skip without ../shared, or fail without it under CI."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & LEGACY_FIXTURES and item.get_closest_marker("legacy") is None:
        pytest.fail(f"{item.nodeid} uses the legacy Caffe stack but is not marked legacy", pytrace=False)
    if fixtures & DOCKER_FIXTURES and item.get_closest_marker("docker") is None:
        pytest.fail(f"{item.nodeid} uses the Docker engine but is not marked docker", pytrace=False)
    paths = [mark.args[0] for mark in item.iter_markers("shared_data")]
    if paths:
        check_shared_data(paths, ci=bool(os.environ.get("CI")))


def _provisioned(name: str, setup: Callable[[], Path]) -> ChrootStack:
    """The chroot stack ``name`` that ``setup`` provisions; where it cannot be provisioned, the test
    skips with the reason, or fails with it under CI (``$CI`` set)."""
    try:
        root = setup()
    except LegacyStackError as error:
        unavailable(f"the legacy Caffe stack {name} cannot be provisioned: {error}")
    return ChrootStack(root, python=STACK_PYTHONS[name])


@pytest.fixture(scope="session")
def legacy_stack() -> ChrootStack:
    """The chroot legacy Caffe stack (Debian bullseye) in the default root, provisioned on first use."""
    return _provisioned("chroot", setup_chroot)


@pytest.fixture(scope="session")
def legacy_py27_stack() -> ChrootStack:
    """The py27 legacy Caffe stack (Python 2.7, the thesis's pins) in the default root, provisioned on first use."""
    return _provisioned("py27", setup_py27)


@pytest.fixture(scope="session", params=["chroot", "py27"])
def each_legacy_stack(request: pytest.FixtureRequest) -> ChrootStack:
    """Each chroot legacy stack in turn: the bullseye one, then the py27 one."""
    return request.getfixturevalue("legacy_stack" if request.param == "chroot" else "legacy_py27_stack")


def unavailable(reason: str) -> None:
    """Skip the test with ``reason``; under CI (``$CI`` set) fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def provisioned_image(name: str) -> DockerClient:
    """The private Docker engine (started as root if needed) with image ``name`` of
    :data:`parity.stacks.docker_engine.IMAGES` built; skip (fail under CI) where it cannot be."""
    try:
        client = docker_engine.start_engine(log=lambda line: None)
        docker_engine.build_image(client, docker_engine.IMAGES[name], log=lambda line: None)
    except LegacyStackError as error:
        unavailable(f"the Docker image {name} cannot be provisioned: {error}")
    return client


def docker_stack(name: str) -> DockerStack:
    """The docker stack ``name`` of :data:`parity.stacks.DOCKER_STACKS`, its image (the one of
    :data:`parity.stacks.docker_engine.IMAGES` its recipe names) built on first use."""
    _, recipe, _ = DOCKER_STACKS[name]
    return get_stack(name, host=provisioned_image(recipe).host)


@pytest.fixture(scope="session")
def docker_bullseye() -> DockerStack:
    """The ``docker-bullseye`` stack."""
    return docker_stack("docker-bullseye")


@pytest.fixture(scope="session")
def docker_py27() -> DockerStack:
    """The ``docker-py27`` stack (the py27 recipe's image)."""
    return docker_stack("docker-py27")


@pytest.fixture(scope="session")
def port_image() -> DockerClient:
    """The engine with the port's image ``mfv-port`` built on first use."""
    return provisioned_image("port")


@pytest.fixture(scope="session")
def caffenet_job_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A legacy job's inputs: CaffeNet's prototxt, the port's deterministic random weights, and one
    input image of Caffe's range."""
    folder = tmp_path_factory.mktemp("caffenet-job")
    weights = folder / "random.caffemodel"
    save_caffemodel(caffenet(seed=0), CAFFENET_PROTOTXT, weights)
    data = folder / "input.npy"
    np.save(data, np.random.RandomState(3).uniform(-120, 130, (1, 3, 227, 227)).astype(np.float32))
    return {"prototxt": CAFFENET_PROTOTXT, "weights": weights, "input": data}
