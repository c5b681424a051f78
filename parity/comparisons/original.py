"""The published 2016 scripts, run unchanged on a legacy stack (job kind ``original``).

:func:`check_original` makes sure a folder holds the scripts and compares
their SHA-1s with the published ones (``original_scripts.json``);
:func:`run_original` runs ``act_max.tvd.mean.py`` (or ``.center.py``) there
through :mod:`legacy_caffe.original` and reads back what it printed, each
step's ``(best_unit, best_act, obj_act)``, its float image and its JPEG.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.stacks import LegacyStack

__all__ = ["PUBLISHED_SHA1", "SCRIPTS", "OriginalRun", "OriginalStep", "check_original", "run_original"]

SCRIPTS = {"mean": "act_max.tvd.mean.py", "center": "act_max.tvd.center.py"}
PUBLISHED_SHA1: dict[str, str] = json.loads(Path(__file__).with_name("original_scripts.json").read_text())["sha1"]


@dataclass(frozen=True)
class OriginalStep:
    """What one call of the script's ``make_step`` returned (floats exact)."""

    iteration: int
    best_unit: int
    best_act: float
    obj_act: float


@dataclass(frozen=True)
class OriginalRun:
    """One run of a published script: how it ended, what it printed, its steps and (if it finished) its images."""

    script: str
    sha1: str
    published: bool
    ended: str
    printed: str
    steps: list[OriginalStep]
    image: np.ndarray | None
    jpeg_name: str | None
    jpeg: bytes | None
    manifest: dict[str, Any]


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def check_original(folder: Path, warn: Callable[[str], Any] = print) -> dict[str, str]:
    """Return ``{script: sha1}`` of the two scripts in ``folder``.

    Raises ``FileNotFoundError`` naming the folder and the missing scripts;
    warns (through ``warn``), naming the file and both SHA-1s, for a script
    that is not the published one.
    """
    folder = Path(folder)
    missing = [name for name in SCRIPTS.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a clone of the original MFV code: it lacks {', '.join(missing)} "
            "(point --original at the folder that holds act_max.tvd.mean.py)"
        )
    digests = {name: _sha1(folder / name) for name in SCRIPTS.values()}
    for name, digest in digests.items():
        if digest != PUBLISHED_SHA1[name]:
            warn(
                f"warning: {folder / name} is not the published script "
                f"(SHA-1 {digest}, published {PUBLISHED_SHA1[name]}); running it as it is"
            )
    return digests


def run_original(
    stack: LegacyStack,
    folder: Path,
    *,
    center: bool,
    prototxt: Path,
    weights: Path,
    unit: int,
    seed: int,
    start: Path | None = None,
    name: str = "fc8_0",
    layer: str = "fc8",
    xy: int = 0,
    threads: int = 1,
    warn: Callable[[str], Any] = print,
) -> OriginalRun:
    """Run the mean (or, with ``center``, the center-bias) script with the shell scripts' arguments
    ``unit name layer xy seed [start out]`` on ``stack`` and read back what it produced."""
    script = SCRIPTS["center" if center else "mean"]
    digest = check_original(folder, warn)[script]
    inputs = {"script": Path(folder) / script, "prototxt": prototxt, "weights": weights}
    if start is not None:
        inputs["start"] = start
    params = {"unit": unit, "name": name, "layer": layer, "xy": xy, "seed": seed}
    with tempfile.TemporaryDirectory(prefix="mfv-original-") as tmp:
        result = stack.run("original", params, inputs, threads=threads, out_dir=Path(tmp))
        files = result.files
        jpegs = [key for key in files if key.endswith(".jpg")]
        return OriginalRun(
            script=script,
            sha1=digest,
            published=digest == PUBLISHED_SHA1[script],
            ended=result.manifest["job"]["ended"],
            printed=files["printed.txt"].read_text(errors="replace"),
            steps=_read_steps(files["steps.csv"]) if "steps.csv" in files else [],
            image=np.load(files["final.npy"], allow_pickle=False) if "final.npy" in files else None,
            jpeg_name=jpegs[0] if jpegs else None,
            jpeg=files[jpegs[0]].read_bytes() if jpegs else None,
            manifest=result.manifest,
        )


def _read_steps(path: Path) -> list[OriginalStep]:
    with path.open(newline="") as handle:
        return [
            OriginalStep(int(row["iteration"]), int(row["best_unit"]), float(row["best_act"]), float(row["obj_act"]))
            for row in csv.DictReader(handle)
        ]
