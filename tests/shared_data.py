"""Paths into ``../shared/data/mfv-original`` (the original repository's data), present beside a
developer's or CI's checkout and absent from a user's clone: tests that use them skip, saying why."""

from pathlib import Path

ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mfv-original"
ORIGINAL_DEPLOY = ORIGINAL / "deploy_alexnet_updated.prototxt"
BELL_PEPPER_MEAN_0 = ORIGINAL / "mean_images" / "n07720875" / "mean_0.jpg"


def missing(path: Path) -> str:
    """The skip reason for a test that needs ``path``."""
    return f"original MFV data not present at {path} (no ../shared beside this checkout)"
