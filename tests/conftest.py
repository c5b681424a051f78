"""Fixtures and hooks shared by the test suite."""

from __future__ import annotations

import os

import pytest

from parity import docker_engine
from parity.docker_client import DockerClient
from parity.provision import setup_chroot
from parity.stacks import DOCKER_STACKS, ChrootStack, DockerStack, LegacyStackError
from tests.shared_data import check_shared_data


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture starts: a test that starts Caffe must be marked ``legacy``
    (``-m "not legacy"`` is the fast suite, which never starts Caffe), and tests
    marked ``shared_data(path)`` skip without ../shared, or fail without it under CI."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & {"legacy_stack", "docker_bullseye"} and item.get_closest_marker("legacy") is None:
        pytest.fail(f"{item.nodeid} uses the legacy Caffe stack but is not marked legacy", pytrace=False)
    if fixtures & {"docker_bullseye", "port_image"} and item.get_closest_marker("docker") is None:
        pytest.fail(f"{item.nodeid} uses the Docker engine but is not marked docker", pytrace=False)
    paths = [mark.args[0] for mark in item.iter_markers("shared_data")]
    if paths:
        check_shared_data(paths, ci=bool(os.environ.get("CI")))


@pytest.fixture(scope="session")
def legacy_stack() -> ChrootStack:
    """The chroot legacy Caffe stack in the default root, provisioned on first use.

    Where it cannot be provisioned, tests that use it skip with the reason;
    under CI (``$CI`` set) they fail with it instead.
    """
    try:
        root = setup_chroot()
    except LegacyStackError as error:
        unavailable(f"the legacy Caffe stack cannot be provisioned: {error}")
    return ChrootStack(root)


def unavailable(reason: str) -> None:
    """Skip the test with ``reason``; under CI (``$CI`` set) fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def provisioned_image(name: str) -> DockerClient:
    """The private Docker engine (started as root if needed) with image ``name`` of
    :data:`parity.docker_engine.IMAGES` built; skip (fail under CI) where it cannot be."""
    try:
        client = docker_engine.start_engine(log=lambda line: None)
        docker_engine.build_image(client, docker_engine.IMAGES[name], log=lambda line: None)
    except LegacyStackError as error:
        unavailable(f"the Docker image {name} cannot be provisioned: {error}")
    return client


@pytest.fixture(scope="session")
def docker_bullseye() -> DockerStack:
    """The ``docker-bullseye`` stack, its image built on first use."""
    client = provisioned_image("legacy-bullseye")
    image, recipe = DOCKER_STACKS["docker-bullseye"]
    return DockerStack(image, recipe, host=client.host)


@pytest.fixture(scope="session")
def port_image() -> DockerClient:
    """The engine with the port's image ``mfv-port`` built on first use."""
    return provisioned_image("port")
