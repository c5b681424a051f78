"""Fixtures and hooks shared by the test suite."""

from __future__ import annotations

import os

import pytest

from parity.provision import setup_chroot
from parity.stacks import ChrootStack, LegacyStackError
from tests.shared_data import check_shared_data


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture starts: a test that starts Caffe must be marked ``legacy``
    (``-m "not legacy"`` is the fast suite, which never starts Caffe), and tests
    marked ``shared_data(path)`` skip without ../shared, or fail without it under CI."""
    if "legacy_stack" in getattr(item, "fixturenames", ()) and item.get_closest_marker("legacy") is None:
        pytest.fail(f"{item.nodeid} uses the legacy Caffe stack but is not marked legacy", pytrace=False)
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
        reason = f"the legacy Caffe stack cannot be provisioned: {error}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return ChrootStack(root)
