"""Fixtures and hooks shared by the test suite."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from parity.provision import setup_chroot
from parity.provision_py27 import setup_py27
from parity.stacks import STACK_PYTHONS, ChrootStack, LegacyStackError
from tests.shared_data import check_shared_data

LEGACY_FIXTURES = {"legacy_stack", "legacy_py27_stack", "each_legacy_stack"}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture starts: a test that starts Caffe must be marked ``legacy``
    (``-m "not legacy"`` is the fast suite, which never starts Caffe), and tests
    marked ``shared_data(path)`` skip without ../shared, or fail without it under CI."""
    uses_caffe = LEGACY_FIXTURES & set(getattr(item, "fixturenames", ()))
    if uses_caffe and item.get_closest_marker("legacy") is None:
        pytest.fail(f"{item.nodeid} uses the legacy Caffe stack but is not marked legacy", pytrace=False)
    paths = [mark.args[0] for mark in item.iter_markers("shared_data")]
    if paths:
        check_shared_data(paths, ci=bool(os.environ.get("CI")))


def _provisioned(name: str, setup: Callable[[], Path]) -> ChrootStack:
    """The chroot stack ``name`` that ``setup`` provisions; where it cannot be provisioned, the test
    skips with the reason, or fails with it under CI (``$CI`` set)."""
    try:
        root = setup()
    except LegacyStackError as error:
        reason = f"the legacy Caffe stack {name} cannot be provisioned: {error}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
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
