"""Does the 2016 environment matter?  The py27 stack against the bullseye stack on the same inputs.

Both stacks run the same libcaffe 1.0 with the same OpenBLAS kernel and
thread count; they differ in Python (2.7 vs 3.9), numpy (1.11.0 vs 1.19),
scipy (0.17.0 vs 1.6) and scikit-image (0.13.1 vs 0.18.1).  Four levels:

* layers: the ``layers`` job (forward blobs and the target's one-hot input
  gradient) on both; expected bitwise, same C++ library;
* ops: ``scipy.ndimage.zoom`` and ``denoise_tv_bregman`` (the ``ops`` job of
  level 3) on the same arrays, max |py27 - bullseye| per case;
* lockstep (:mod:`parity.comparisons.env_lockstep`): the run's steps, each started from
  the same image on both stacks, max |py27 - bullseye| per step of the
  image after it and of its parts (gradient, gradient step, denoise) and
  per zoom, beside each stack's own noise floor;
* free runs: the pycaffe reference loop on both, set beside each stack's
  own noise floor (the other BLAS thread count): the 2016 environment
  matters for a run only if py27 is further from bullseye than either stack
  is from itself.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import numpy as np

from parity.comparisons.env_lockstep import EnvLockstep, env_lockstep
from parity.comparisons.layers import make_input
from parity.comparisons.mfv import RunSetup, mfv_outcome, submit_reference
from parity.comparisons.ops import TV_WEIGHTS, make_inputs, tv_cases, zoom_cases
from parity.judges.runs import ImageFigures, first_divergence, image_figures, within_floor
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import Report, Verdict
from parity.stacks import LegacyStack
from parity.stacks.environment import file_digest, port_manifest
from port.mfv.loop import MFVRun

__all__ = ["EnvInputs", "EnvReport", "PairRow", "RunPair", "run_env_parity"]


@dataclass(frozen=True)
class EnvInputs:
    prototxt: dict
    weights: dict
    target: str
    seed: int
    iterations: int
    py27_stack: str
    bullseye_stack: str
    blas_core: str
    blas_threads: int


@dataclass(frozen=True)
class PairRow:
    """One array computed on both stacks: max |py27 - bullseye| and whether they are bitwise equal."""

    name: str
    max_abs: float
    bitwise: bool


@dataclass(frozen=True)
class RunPair:
    """Two whole runs compared: final images and the first iteration whose target activations part."""

    name: str
    figures: ImageFigures
    first_divergence: int | None

    def as_dict(self) -> dict:
        return {"name": self.name, "figures": self.figures.as_dict(), "first_divergence": self.first_divergence}


@dataclass(frozen=True)
class EnvReport(Report):
    """``mfv parity env``'s report (``inputs``: :class:`EnvInputs`); ``environment`` holds both manifests."""

    kind: ClassVar[str] = "env"
    layers: list[PairRow]
    ops: list[PairRow]
    ops_skipped: list
    lockstep: EnvLockstep
    runs: list[RunPair]
    within_floor: bool

    def sections(self) -> dict:
        return {
            "layers": [asdict(row) for row in self.layers],
            "ops": [asdict(row) for row in self.ops],
            "ops_skipped_on_py27": self.ops_skipped,
            "lockstep": self.lockstep.as_dict(),
            "runs": [run.as_dict() for run in self.runs],
            "within_floor": self.within_floor,
        }


def _pairs(py27: dict[str, np.ndarray], bullseye: dict[str, np.ndarray]) -> list[PairRow]:
    rows = []
    for name in sorted(set(py27) & set(bullseye)):
        a, b = np.asarray(py27[name], np.float64), np.asarray(bullseye[name], np.float64)
        same_shape = a.shape == b.shape
        max_abs = float(np.max(np.abs(a - b), initial=0.0)) if same_shape else float("inf")
        rows.append(PairRow(name, max_abs, same_shape and np.array_equal(py27[name], bullseye[name])))
    return rows


def run_env_parity(
    setup: RunSetup,
    py27: LegacyStack,
    bullseye: LegacyStack,
    *,
    threads: int = 1,
    tol: Tolerances | None = None,
    ops_size: int = 227,
    progress: bool = True,
) -> tuple[EnvReport, dict[str, np.ndarray]]:
    """Run the four levels on both stacks; return the report and the four final images.

    The ops level runs level 3's cases (:mod:`parity.comparisons.ops`) on ``ops_size`` x ``ops_size`` arrays
    drawn from the run's seed."""
    if py27.blas_core != bullseye.blas_core:
        raise ValueError(f"both stacks need the same OpenBLAS kernel, not {py27.blas_core} and {bullseye.blas_core}")
    if threads not in (1, 2):
        raise ValueError(f"threads must be 1 or 2 (the noise floor runs the other count), not {threads}")
    tol = tol or Tolerances.load()
    free_tol = tol.table["free_run"]
    target = setup.config.target
    with tempfile.TemporaryDirectory(prefix="mfv-env-") as tmp:
        paths = {"prototxt": setup.prototxt, "weights": setup.weights, "input": Path(tmp) / "input.npy"}
        np.save(paths["input"], make_input(setup.net, setup.start_path, setup.seed)[0])
        params = {"targets": [{"layer": target.layer, "unit": target.unit, "y": target.y, "x": target.x}]}
        layer_results = [stack.run("layers", params, paths, threads=threads) for stack in (py27, bullseye)]
        arrays = make_inputs(setup.seed, ops_size)
        for name, array in arrays.items():
            paths[name] = Path(tmp) / f"{name}.npy"
            np.save(paths[name], array)
        cases = {"zoom": zoom_cases(), "tv": tv_cases(TV_WEIGHTS)}
        ops_inputs = {name: paths[name] for name in arrays}
        ops_results = [stack.run("ops", cases, ops_inputs, threads=threads) for stack in (py27, bullseye)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            (name, n): submit_reference(pool, setup, stack, n)
            for name, stack in (("py27", py27), ("bullseye", bullseye))
            for n in (threads, 3 - threads)
        }
        runs = {key: future.result() for key, future in futures.items()}
    lockstep = env_lockstep(setup, py27, bullseye, threads=threads, progress=progress)
    main_py27, main_bullseye = runs["py27", threads][0], runs["bullseye", threads][0]

    def pair(name: str, a: MFVRun, b: MFVRun) -> RunPair:
        first = first_divergence(mfv_outcome(a), mfv_outcome(b), free_tol["divergence_rel"])
        return RunPair(name, image_figures(a.image, b.image), first)

    cross = pair("py27 vs bullseye", main_bullseye, main_py27)
    floors = [
        pair(
            f"{name} vs itself ({3 - threads} vs {threads} BLAS threads)",
            runs[name, threads][0],
            runs[name, 3 - threads][0],
        )
        for name in ("bullseye", "py27")
    ]
    within = any(
        within_floor(cross.figures, floor.figures, free_tol["psnr_margin_db"], free_tol["within_one_margin"])
        for floor in floors
    )
    layers = _pairs(layer_results[0].arrays, layer_results[1].arrays)
    ops = _pairs(ops_results[0].arrays, ops_results[1].arrays)
    inputs = EnvInputs(
        file_digest(setup.prototxt),
        file_digest(setup.weights),
        f"{target.layer} unit {target.unit}",
        setup.seed,
        len(main_bullseye.trace),
        py27.name,
        bullseye.name,
        py27.blas_core,
        threads,
    )
    layers_bitwise = all(row.bitwise for row in layers)
    worst = lockstep.worst("cross")
    verdict = Verdict(
        layers_bitwise and lockstep.gradients_bitwise == len(lockstep.steps) and within,
        f"layers: {sum(r.bitwise for r in layers)} of {len(layers)} arrays bitwise equal; ops: worst "
        f"{max((r.max_abs for r in ops), default=0.0):.3g}; lockstep: {lockstep.gradients_bitwise} of "
        f"{len(lockstep.steps)} steps' gradients bitwise equal, worst |py27 - bullseye| gradient step "
        f"{worst.step:.3g}, denoise {worst.denoise:.3g}, image after the step {worst.image:.3g} grey levels, "
        f"{lockstep.steps_within_floor} steps no further apart than a stack from itself; free run py27 vs bullseye: "
        f"{cross.figures.within_one:.1%} within one grey level, PSNR {cross.figures.psnr_db:.1f} dB, first divergence "
        f"{cross.first_divergence}; noise floors: "
        + ", ".join(f"{f.name} {f.figures.within_one:.1%} / {f.figures.psnr_db:.1f} dB" for f in floors)
        + f" -> {'WITHIN' if within else 'OUTSIDE'} the legacy noise floor",
    )
    report = EnvReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        inputs=inputs,
        tolerances={"source": tol.source, "free_run": free_tol},
        environment={
            "port": port_manifest(),
            "py27": layer_results[0].manifest["environment"],
            "bullseye": layer_results[1].manifest["environment"],
        },
        verdict=verdict,
        layers=layers,
        ops=ops,
        ops_skipped=ops_results[0].manifest["job"].get("skipped", []),
        lockstep=lockstep,
        runs=[cross, *floors],
        within_floor=within,
    )
    images = {f"{name} {n} thread(s)": run[0].image for (name, n), run in runs.items()}
    return report, images
