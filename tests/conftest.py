"""Fixtures shared by the test suite."""

from __future__ import annotations

import os

import pytest

from parity.provision import setup_chroot
from parity.stacks import ChrootStack, LegacyStackError


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
