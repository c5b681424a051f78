"""Files of a finished MFV run, written into one directory that appears atomically.

* ``final.npy``: the deprocessed image, H x W x 3 RGB float32 (e.g. 272 x 272
  after a 1.2 zoom);
* ``final.png``: ``np.uint8(image)`` losslessly - the legacy truncation,
  no rounding or clipping first, so out-of-range pixels wrap as in 2016;
* ``<name>_<unit:04d>.jpg``: the same pixels as the original saved them
  (PIL, default JPEG quality);
* ``trace.csv``: one row per iteration, the reference's fields;
* ``activation.png``: the target's activation over the iterations;
* ``run.json``: the configuration, the weights, timings and any NaN event.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from port.confine import plain_name
from port.mfv.loop import MFVRun, TraceRow
from port.outputs import output_directory

TRACE_FIELDS = [f.name for f in fields(TraceRow) if f.name != "guarded"]


def legacy_uint8(image: np.ndarray) -> np.ndarray:
    """``np.uint8(image)``: C truncation toward zero, as the original saved its result."""
    with np.errstate(invalid="ignore"):
        return image.astype(np.uint8)


def legacy_jpeg_name(name: str, unit: int) -> str:
    """The original's output name: ``<name>_<unit zero-padded to 4>.jpg``."""
    return f"{name}_{str(unit).zfill(4)}.jpg"


def write_trace(path: Path, trace: list[TraceRow]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRACE_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(asdict(row) for row in trace)


def read_trace(path: str | Path) -> list[dict]:
    """A trace CSV (the port's or the reference's) as dicts of typed values."""

    def parse(key: str, value: str):
        if key in ("layer",):
            return value
        if key == "finite":
            return value == "True"
        number = float(value)
        return int(number) if key in ("iteration", "octave", "i", "ox", "oy", "best_unit") else number

    with Path(path).open(newline="") as handle:
        return [{k: parse(k, v) for k, v in row.items()} for row in csv.DictReader(handle)]


def activation_plot(path: Path, trace: list[TraceRow], title: str) -> None:
    """Target and best activation over the iterations, octave boundaries marked."""
    fig = Figure(figsize=(9, 3.6))
    ax = fig.subplots()
    its = [r.iteration for r in trace]
    ax.plot(its, [r.target_act for r in trace], lw=1.2, label="target unit")
    ax.plot(its, [r.best_act for r in trace], lw=0.8, alpha=0.7, label="best unit")
    for a, b in zip(trace, trace[1:]):
        if b.octave != a.octave:
            ax.axvline(b.iteration, color="grey", ls=":", lw=1)
    bad = next((r for r in trace if not r.finite), None)
    if bad is not None:
        ax.axvline(bad.iteration, color="#b00020", lw=1.5, label=f"NaN from iteration {bad.iteration}")
    ax.set_xlabel("iteration (activations before the step)")
    ax.set_ylabel("activation")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})


def write_run(
    out_dir: str | Path,
    run: MFVRun,
    *,
    name: str,
    unit: int,
    info: dict,
    jpeg: bytes | None = None,
    force: bool = False,
) -> Path:
    """Write one run's files into ``out_dir`` (replaced whole, atomically, under the output rule); return it.

    ``jpeg`` is the legacy JPEG's content when another program (the pycaffe
    reference) already encoded it; by default PIL encodes the pixels here.
    ``name`` must be a plain file name; ``force`` replaces what the output
    rule would refuse.
    """
    out_dir = Path(out_dir)
    pixels = legacy_uint8(run.image)
    jpeg_name = legacy_jpeg_name(plain_name(name, "name"), unit)
    with output_directory(out_dir, force=force) as tmp:
        np.save(tmp / "final.npy", run.image.astype(np.float32))
        Image.fromarray(pixels).save(tmp / "final.png")
        if jpeg is None:
            Image.fromarray(pixels).save(tmp / jpeg_name)
        else:
            (tmp / jpeg_name).write_bytes(jpeg)
        write_trace(tmp / "trace.csv", run.trace)
        activation_plot(tmp / "activation.png", run.trace, f"{name}: unit {unit}, seed {run.seed}")
        record = dict(
            info,
            seed=run.seed,
            iterations=len(run.trace),
            guarded_iterations=[r.iteration for r in run.trace if r.guarded],
            non_finite=run.non_finite_cause(),
        )
        (tmp / "run.json").write_text(json.dumps(record, indent=1, sort_keys=True, default=str))
    return out_dir
