"""Parity level 3 (ops): port zoom and TV denoising against scipy / scikit-image, in both environments.

Three implementations run every case on the same arrays: the port
(:func:`port.ops.zoom`, :func:`port.ops.tv_bregman`), the modern venv's
scipy and scikit-image, and the legacy stack's (scipy 1.6, scikit-image
0.18), the last two through the very same functions
(:mod:`legacy_caffe.ops_reference`).  The drift table gives, per case, max
abs and max rel of port vs modern, port vs legacy and modern vs legacy, and
for the denoiser the iteration counts of all three; tolerances come from
``tolerances.json`` under ``ops``.

Cases: zoom by 1.2 and 1.0 (a spline round trip in the legacy stack; scipy
from 1.16 returns the input), orders 1 and 3, float64 and float32, of a
(3, S, S) image on 0..255 as MFV zooms it (factors ``(1, s, s)``); TV
Bregman with the weights MFV uses (0.001 to 2), all channels jointly (MFV's
call) and per channel, float64 and float32, of an (S, S, 3) image like
MFV's random start; the denoiser with both of the port's kernels (the
compiled sequential loop and the FFT-solved form).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from legacy_caffe.ops_reference import run_cases
from parity.judges.figures import figures
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL, PASS, STOP_TIE, Report, Verdict
from parity.stacks import LegacyStack
from parity.stacks.environment import port_manifest
from port.ops import tv_bregman, zoom

ZOOM_FACTORS = (1.2, 1.0)
ZOOM_ORDERS = (1, 3)
TV_WEIGHTS = (0.001, 0.01, 0.1, 0.4, 2.0)
TV_MODES = ("joint", "per_channel")
DTYPES = ("float64", "float32")
TV_MAX_ITER, TV_EPS = 100, 1e-3


@dataclass(frozen=True)
class OpsTolerances:
    """The ``ops`` entry of the tolerance table."""

    max_abs: dict[str, float]
    stop_margin: dict[str, float]
    source: str

    @classmethod
    def from_table(cls, tol: Tolerances) -> "OpsTolerances":
        if "ops" not in tol.table:
            raise ValueError(f"tolerance table {tol.source}: the 'ops' entry is missing")
        entry = tol.table["ops"]
        try:
            return cls(
                {d: float(entry["max_abs"][d]) for d in DTYPES},
                {d: float(entry["stop_margin"][d]) for d in DTYPES},
                tol.source,
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"tolerance table {tol.source}: 'ops' needs max_abs and stop_margin for {', '.join(DTYPES)}"
            ) from None


@dataclass(frozen=True)
class PairFigures:
    """One implementation against another on one case: max abs and max rel (max |a - b| / max |b|)."""

    max_abs: float
    max_rel: float


@dataclass(frozen=True)
class ZoomRow:
    """One zoom case: the three pairs of implementations compared (None: a side could not run it)."""

    case: str
    factor: float
    order: int
    dtype: str
    shape: list[int]
    port_vs_modern: PairFigures | None
    port_vs_legacy: PairFigures | None
    modern_vs_legacy: PairFigures | None
    tolerance: float
    verdict: str
    op: str = field(default="zoom", init=False)

    def as_dict(self) -> dict:
        return {"op": self.op} | {k: v for k, v in asdict(self).items() if k != "op"}


@dataclass(frozen=True)
class TvIterations:
    """Split Bregman's iteration counts: the port's per channel (or one), and each reference's (None: not run)."""

    port: list[int]
    modern: int | None
    legacy: int | None


@dataclass(frozen=True)
class TvRow:
    """One TV Bregman case with one of the port's kernels; ``stop_ties`` per reference that differs: the port's
    stopping values near eps that explain it, or None when none does."""

    case: str
    kernel: str
    weight: float
    mode: str
    dtype: str
    shape: list[int]
    port_vs_modern: PairFigures | None
    port_vs_legacy: PairFigures | None
    modern_vs_legacy: PairFigures | None
    iterations: TvIterations
    stop_ties: dict[str, list[float] | None]
    tolerance: float
    verdict: str
    op: str = field(default="tv_bregman", init=False)

    def as_dict(self) -> dict:
        return {"op": self.op} | {k: v for k, v in asdict(self).items() if k != "op"}


@dataclass(frozen=True)
class OpsInputs:
    seed: int
    size: int
    weights: list[float]
    max_iter: int
    eps: float
    legacy_stack: str
    legacy_blas_threads: int


@dataclass(frozen=True)
class OpsReport(Report):
    """Level 3's report (``inputs``: :class:`OpsInputs`); :meth:`as_dict` is ``report.json``."""

    kind: ClassVar[str] = "ops"
    skipped: dict[str, list]
    zoom: list[ZoomRow]
    tv_bregman: list[TvRow]

    def sections(self) -> dict:
        return {
            "skipped": self.skipped,
            "zoom": [r.as_dict() for r in self.zoom],
            "tv_bregman": [r.as_dict() for r in self.tv_bregman],
        }


def make_inputs(seed: int, size: int) -> dict[str, np.ndarray]:
    """The arrays every stack gets: ``zoom_<dtype>`` (3, size, size) uniform on 0..255 and
    ``tv_<dtype>`` (size, size, 3), MFV's random start normal(175, 8) clipped to 0..255."""
    rng = np.random.RandomState(seed)
    planes = rng.uniform(0.0, 255.0, (3, size, size))
    start = np.clip(rng.normal(175.0, 8.0, (size, size, 3)), 0.0, 255.0)
    return {
        f"{name}_{dtype}": array.astype(dtype) for name, array in (("zoom", planes), ("tv", start)) for dtype in DTYPES
    }


def zoom_cases() -> list[dict]:
    return [
        {"input": f"zoom_{dtype}", "dtype": dtype, "factors": [1.0, factor, factor], "order": order}
        for factor in ZOOM_FACTORS
        for order in ZOOM_ORDERS
        for dtype in DTYPES
    ]


TV_KERNELS = ("sequential", "fft")


def tv_cases(weights: tuple[float, ...]) -> list[dict]:
    return [
        {
            "input": f"tv_{dtype}",
            "dtype": dtype,
            "weight": weight,
            "per_channel": mode == "per_channel",
            "isotropic": True,
            "max_iter": TV_MAX_ITER,
            "eps": TV_EPS,
            "iterations": True,
        }
        for mode in TV_MODES
        for weight in weights
        for dtype in DTYPES
    ]


def _pair(a: np.ndarray | None, b: np.ndarray | None, name: str) -> PairFigures | None:
    if a is None or b is None:
        return None
    fig = figures(b, a, name)
    return PairFigures(fig.max_abs, fig.max_rel)


def _value_verdict(pairs: list[PairFigures | None], limit: float) -> str:
    return PASS if all(p is None or p.max_abs <= limit for p in pairs) else FAIL


def zoom_rows(inputs: dict[str, np.ndarray], modern: dict, legacy: dict, tol: OpsTolerances) -> list[ZoomRow]:
    rows = []
    for k, case in enumerate(zoom_cases()):
        factor, dtype = case["factors"][1], case["dtype"]
        port = zoom(torch.from_numpy(inputs[case["input"]])[None], factor, case["order"])[0].numpy()
        ours, theirs = modern.get(f"zoom/{k}"), legacy.get(f"zoom/{k}")
        port_vs_modern, port_vs_legacy = _pair(port, ours, "zoom"), _pair(port, theirs, "zoom")
        rows.append(
            ZoomRow(
                f"x{factor:g}, order {case['order']}, {dtype}",
                factor,
                case["order"],
                dtype,
                list(port.shape),
                port_vs_modern,
                port_vs_legacy,
                _pair(ours, theirs, "zoom"),
                tol.max_abs[dtype],
                _value_verdict([port_vs_modern, port_vs_legacy], tol.max_abs[dtype]),
            )
        )
    return rows


def stop_tie(
    rmse: np.ndarray, iterations: np.ndarray, reference_count: int | None, eps: float, margin: float
) -> list[float] | None:
    """The port's stopping values within ``margin`` of ``eps`` where another decision would explain a
    difference from a reference; None if there is none.

    Looked at, per channel: the iteration at which the port stopped, the one
    before (where it went on), and the reference's last iteration if the port
    went on past it.  ``rmse`` and ``iterations`` are a :class:`BregmanResult`'s.
    """
    close = []
    for values, count in zip(np.atleast_2d(rmse), np.atleast_1d(iterations).tolist()):
        steps = {count, count - 1} | (
            {reference_count} if reference_count is not None and reference_count < count else set()
        )
        close += [
            float(values[step - 1])
            for step in sorted(steps)
            if 1 <= step <= len(values) and abs(values[step - 1] - eps) <= margin
        ]
    return close or None


def tv_rows(
    inputs: dict[str, np.ndarray], modern: dict, legacy: dict, weights: tuple[float, ...], tol: OpsTolerances
) -> list[TvRow]:
    """One row per case and kernel of :func:`port.ops.tv_bregman` (both run on the CPU)."""
    return [
        tv_row(inputs, modern, legacy, k, case, method, tol)
        for k, case in enumerate(tv_cases(weights))
        for method in TV_KERNELS
    ]


def tv_row(
    inputs: dict[str, np.ndarray], modern: dict, legacy: dict, k: int, case: dict, method: str, tol: OpsTolerances
) -> TvRow:
    dtype, per_channel = case["dtype"], case["per_channel"]
    result = tv_bregman(
        inputs[case["input"]],
        case["weight"],
        case["max_iter"],
        case["eps"],
        channel_axis=-1 if per_channel else None,
        return_iterations=True,
        method=method,
    )
    port_count, limit = int(np.max(result.iterations)), tol.max_abs[dtype]
    pairs, counts, ties = {}, {}, {}
    for name, results in (("modern", modern), ("legacy", legacy)):
        image, count = results.get(f"tv/{k}"), results.get(f"tv_iterations/{k}")
        pairs[f"port_vs_{name}"] = _pair(result.image, image, "tv")
        counts[name] = None if count is None else int(count)
        differs = (
            counts[name] is not None
            and counts[name] != port_count
            or pairs[f"port_vs_{name}"] is not None
            and pairs[f"port_vs_{name}"].max_abs > limit
        )
        if differs:
            ties[name] = stop_tie(result.rmse, result.iterations, counts[name], case["eps"], tol.stop_margin[dtype])
    verdict = FAIL if any(v is None for v in ties.values()) else STOP_TIE if ties else PASS
    return TvRow(
        f"{method}: w={case['weight']:g}, {'per channel' if per_channel else 'joint'}, {dtype}",
        method,
        case["weight"],
        "per_channel" if per_channel else "joint",
        dtype,
        list(result.image.shape),
        pairs["port_vs_modern"],
        pairs["port_vs_legacy"],
        _pair(modern.get(f"tv/{k}"), legacy.get(f"tv/{k}"), "tv"),
        TvIterations(np.atleast_1d(result.iterations).tolist(), counts["modern"], counts["legacy"]),
        ties,
        limit,
        verdict,
    )


def verdict(rows: list[ZoomRow | TvRow]) -> Verdict:
    failures = [
        f"{r.op} {r.case}: max abs above {r.tolerance:g}"
        + (" or iteration counts differ, with no stopping value near eps" if isinstance(r, TvRow) else "")
        for r in rows
        if r.verdict == FAIL
    ]
    ties = sum(r.verdict == STOP_TIE for r in rows)
    worst = {
        d: max(
            (
                pair.max_abs
                for r in rows
                if r.dtype == d and r.verdict != STOP_TIE
                for pair in (r.port_vs_modern, r.port_vs_legacy)
                if pair is not None
            ),
            default=0.0,
        )
        for d in DTYPES
    }
    detail = (
        f"{len(rows)} cases, worst port max abs "
        f"{worst['float64']:.3g} (float64), {worst['float32']:.3g} (float32); "
        f"{ties} stop tie(s); {len(failures)} failure(s)"
    )
    return Verdict(not failures, detail, failures, ties)


def run_ops_parity(
    stack: LegacyStack,
    *,
    seed: int = 0,
    size: int = 227,
    weights: tuple[float, ...] = TV_WEIGHTS,
    threads: int = 1,
    tolerances: Tolerances | None = None,
) -> OpsReport:
    """Run every ops case in the port, the modern venv and the legacy stack; return the report."""
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}")
    tol = tolerances or Tolerances.load()
    ops_tol = OpsTolerances.from_table(tol)
    inputs = make_inputs(seed, size)
    zooms, tvs = zoom_cases(), tv_cases(tuple(weights))
    with tempfile.TemporaryDirectory(prefix="mfv-ops-") as tmp:
        paths = {}
        for name, array in inputs.items():
            paths[name] = Path(tmp) / f"{name}.npy"
            np.save(paths[name], array)
        result = stack.run("ops", {"zoom": zooms, "tv": tvs}, paths, threads=threads)
    modern, modern_skipped = run_cases(inputs, zooms, tvs)
    zoom_table = zoom_rows(inputs, modern, result.arrays, ops_tol)
    tv_table = tv_rows(inputs, modern, result.arrays, tuple(weights), ops_tol)
    return OpsReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        inputs=OpsInputs(seed, size, list(weights), TV_MAX_ITER, TV_EPS, stack.name, threads),
        tolerances={"source": ops_tol.source, "table": tol.table["ops"]},
        environment={"port": port_manifest(), "legacy": result.manifest},
        verdict=verdict([*zoom_table, *tv_table]),
        skipped={"modern": modern_skipped, "legacy": result.manifest["job"].get("skipped", [])},
        zoom=zoom_table,
        tv_bregman=tv_table,
    )
