"""Paths into ``../shared/data/mfv-original`` (the original repository's data), present beside a
developer's or CI's checkout and absent from a user's clone.

A test that needs one is decorated ``@needs(path)``: where the path is missing
it skips, saying why, except under CI (``$CI`` set), where it fails - CI has
``../shared``, so a missing path there is a broken checkout, not a user's clone.
"""

from pathlib import Path

import pytest

ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mfv-original"
ORIGINAL_DEPLOY = ORIGINAL / "deploy_alexnet_updated.prototxt"
BELL_PEPPER_MEAN_0 = ORIGINAL / "mean_images" / "n07720875" / "mean_0.jpg"


def missing(path: Path) -> str:
    """Why a test that needs ``path`` cannot run."""
    return f"original MFV data not present at {path} (no ../shared beside this checkout)"


def needs(path: Path) -> pytest.MarkDecorator:
    """Mark a test as needing ``path``; ``check_shared_data`` (run by tests/conftest.py) acts on the mark."""
    return pytest.mark.shared_data(path)


def check_shared_data(paths: list[Path], ci: bool) -> None:
    """Skip (or, under CI, fail) when any of ``paths`` is missing."""
    absent = [path for path in paths if not path.exists()]
    if not absent:
        return
    reason = missing(absent[0])
    if ci:
        pytest.fail(f"{reason}; CI must have ../shared", pytrace=False)
    pytest.skip(reason)
