"""Parity levels 0-2: environments, weights, every blob forward, every diff backward.

Both stacks get the same net, the same weights file and the same
preprocessed input array.  The legacy side (real Caffe, via a
``parity.stacks`` stack) dumps its parameters, every blob, its max-pool masks
and, for each one-hot target, every blob's diff; the port computes the same
with ``port.caffe``.  Each blob is compared with ``parity.judges.figures.figures``
against the tolerance table.

A backward difference above tolerance is attributed to near-ties when the
port, made to follow Caffe's choices where they differ - its argmax in
max-pool windows (its masks, ``parity.judges.pool_ties``) and its on/off pattern of
ReLU units (``parity.judges.relu_flips``, whose flips are found layer by layer with
the port following Caffe at the flips above) - comes back within tolerance;
otherwise it is a failure.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from parity.judges.figures import Figures, bitwise_equal, figures
from parity.judges.pool_ties import PoolTie, find_ties, positive_windows
from parity.judges.relu_flips import ReluFlips, follow_flips, legacy_active
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL, PASS, POOL_TIE, RELU_SIGN, Report, Verdict
from parity.stacks import JobResult, LegacyStack
from parity.stacks.environment import file_digest, port_manifest
from parity.stacks.results import LayersDump
from port.caffe import CaffeNetwork, Target, load_net, one_hot_diffs
from port.caffe.targets import check_target
from port.imaging import load_rgb, preprocess, random_start


def default_targets(net: CaffeNetwork) -> list[Target]:
    """The last two InnerProduct layers (unit 0) and the last Convolution at its centre (unit 0).

    For CaffeNet: fc8, fc7 and conv5 at (6, 6).
    """
    fc = [s.name for s in net.steps if s.type == "InnerProduct"][-2:][::-1]
    targets = [Target(name, 0) for name in fc]
    convs = [s for s in net.steps if s.type == "Convolution"]
    if convs:
        _, _, h, w = net.blob_shapes[convs[-1].tops[0]]
        targets.append(Target(convs[-1].name, 0, h // 2, w // 2))
    return targets


def make_input(net: CaffeNetwork, image: str | Path | None, seed: int) -> tuple[np.ndarray, str]:
    """The net's (N, C, H, W) float32 input and a description of where it came from.

    A 3-channel net takes ``image`` (resized to the input size, repeated over
    the batch) or, without one, the legacy loop's random start
    ``normal(175, 8)`` drawn from ``seed + i`` for batch item ``i``, both
    preprocessed to Caffe's BGR-minus-mean convention.  Other nets take
    ``normal(0, 1)`` noise from ``seed``.
    """
    if len(net.inputs) != 1:
        raise ValueError(f"{net.source}: layers parity supports one input blob, the net has {list(net.inputs)}")
    n, c, h, w = next(iter(net.inputs.values()))
    if c == 3 and image is not None:
        return np.repeat(preprocess(load_rgb(image, (h, w)))[None], n, axis=0), f"image {image}"
    if image is not None:
        raise ValueError(f"--image needs a 3-channel input; {net.source} takes {c} channels")
    if c == 3:
        starts = [preprocess(random_start(seed + i, (h, w)).astype(np.float32)) for i in range(n)]
        return np.stack(starts), f"random start normal(175, 8), seed {seed} (+ batch index)"
    return np.random.RandomState(seed).normal(0.0, 1.0, (n, c, h, w)).astype(np.float32), f"normal(0, 1), seed {seed}"


@dataclass(frozen=True)
class BlobRow:
    """One blob compared: figures, tolerance and verdict."""

    blob: str
    figures: Figures
    tolerance: float
    verdict: str
    with_legacy_argmax: Figures | None = None
    local: Figures | None = None

    def as_dict(self) -> dict:
        row = {"blob": self.blob, **self.figures.as_dict(), "tolerance": self.tolerance, "verdict": self.verdict}
        if self.local is not None:
            row["local_max_rel"] = self.local.max_rel
        if self.with_legacy_argmax is not None:
            row["max_rel_with_legacy_argmax"] = self.with_legacy_argmax.max_rel
            row["max_abs_with_legacy_argmax"] = self.with_legacy_argmax.max_abs
        return row


@dataclass(frozen=True)
class WeightRow:
    """One learnable blob of a layer, the port's against Caffe's."""

    layer: str
    blob: int
    shape: list[int]
    bitwise_equal: bool


@dataclass(frozen=True)
class PoolLayerTies:
    """One MAX pooling layer: its windows, those with a positive maximum, and the near-ties found."""

    windows: int
    positive_windows: int
    ties: list[PoolTie]

    def as_dict(self) -> dict:
        return {
            "windows": self.windows,
            "positive_windows": self.positive_windows,
            "ties": [t.as_dict() for t in self.ties],
        }


@dataclass(frozen=True)
class BackwardTarget:
    """Every diff from a one-hot at ``target``, compared."""

    target: str
    blobs: list[BlobRow]


@dataclass(frozen=True)
class LayersInputs:
    """What both stacks ran: file digests (``parity.stacks.environment.file_digest``) and the input's origin."""

    prototxt: dict
    weights: dict
    input: str
    image: dict | None
    targets: list[str]
    legacy_stack: str
    legacy_blas_threads: int

    @classmethod
    def of(
        cls,
        prototxt: str | Path,
        weights: str | Path,
        input_note: str,
        image: str | Path | None,
        targets: Sequence[Target],
        stack: LegacyStack,
        threads: int,
    ) -> "LayersInputs":
        """The inputs of a run: the files' digests, the input's origin, the targets, the stack."""
        digest = None if image is None else file_digest(image)
        return cls(
            file_digest(prototxt),
            file_digest(weights),
            input_note,
            digest,
            [str(t) for t in targets],
            stack.name,
            threads,
        )


@dataclass(frozen=True)
class LayersReport(Report):
    """Levels 0-2's report (``inputs``: :class:`LayersInputs`); :meth:`as_dict` is ``report.json``."""

    kind: ClassVar[str] = "layers"
    weights: list[WeightRow]
    forward: list[BlobRow]
    pool_ties: dict[str, PoolLayerTies]
    backward: list[BackwardTarget]
    relu_flips: dict[str, ReluFlips] = field(default_factory=dict)

    @property
    def weights_equal(self) -> bool:
        return all(r.bitwise_equal for r in self.weights)

    def sections(self) -> dict:
        return {
            "weights": {"bitwise_equal": self.weights_equal, "blobs": [asdict(r) for r in self.weights]},
            "forward": [r.as_dict() for r in self.forward],
            "pool_ties": {layer: entry.as_dict() for layer, entry in self.pool_ties.items()},
            "relu_flips": {layer: entry.as_dict() for layer, entry in self.relu_flips.items()},
            "backward": [{"target": b.target, "blobs": [r.as_dict() for r in b.blobs]} for b in self.backward],
        }


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def compare_weights(net: CaffeNetwork, dump: LayersDump) -> list[WeightRow]:
    rows = []
    for layer, blobs in net.caffe_params().items():
        for i, blob in enumerate(blobs):
            legacy = dump.param(layer, i)
            equal = bitwise_equal(legacy.reshape(tuple(blob.shape)), _np(blob))
            rows.append(WeightRow(layer, i, list(blob.shape), equal))
    return rows


def local_forward(net: CaffeNetwork, dump: LayersDump, name: str) -> torch.Tensor:
    """Blob ``name`` computed by the port's layers that write it, from Caffe's values of their bottoms.

    The producer and any in-place layers after it run in order, so the
    figure isolates the error those layers make from the error they inherit.
    """
    env = {blob: torch.from_numpy(dump.blob(blob)) for blob in dump.blob_names()}
    with torch.no_grad():
        for step in net.steps_writing(name):
            env.update(zip(step.tops, net.layers[step.key]([env[b] for b in step.bottoms])))
    return env[name]


def compare_forward(
    net: CaffeNetwork, port_blobs: dict[str, torch.Tensor], dump: LayersDump, tol: Tolerances
) -> list[BlobRow]:
    rows = []
    for name in dump.blob_names():
        legacy = dump.blob(name)
        fig = figures(legacy, _np(port_blobs[name]), name)
        local = None if name in net.inputs else figures(legacy, _np(local_forward(net, dump, name)), name)
        limit = tol.max_rel("forward", name)
        rows.append(BlobRow(name, fig, limit, PASS if fig.max_rel <= limit else FAIL, local=local))
    return rows


def find_all_ties(net: CaffeNetwork, trace_blobs: dict, argmax: dict, dump: LayersDump) -> dict[str, PoolLayerTies]:
    """Per MAX pooling layer: windows, positive windows and the tie list."""
    result = {}
    for step in net.steps:
        if step.name not in argmax:
            continue
        bottom = step.bottoms[0]
        ties = find_ties(
            step.name, _np(trace_blobs[bottom]), dump.blob(bottom), _np(argmax[step.name]), dump.mask(step.name)
        )
        pooled = dump.blob(step.tops[0])
        result[step.name] = PoolLayerTies(int(pooled.size), positive_windows(pooled), ties)
    return result


def tie_masks(dump: LayersDump, ties: Sequence[PoolTie]) -> dict[str, torch.Tensor]:
    """Caffe's argmax (its mask, int64) of every MAX pooling layer with a near-tie."""
    return {layer: torch.from_numpy(dump.mask(layer).astype(np.int64)) for layer in {t.layer for t in ties}}


def compare_backward(
    net: CaffeNetwork,
    x: torch.Tensor,
    target: Target,
    index: int,
    dump: LayersDump,
    tol: Tolerances,
    ties: Sequence[PoolTie],
    flips: Mapping[str, np.ndarray] | None = None,
) -> list[BlobRow]:
    """Rows for one target; a failing blob is re-checked with Caffe's choices where they differ.

    ``ties`` are the max-pool near-ties; ``flips`` maps the ReLU layers with
    flipped units to Caffe's on/off pattern.  The verdict of a row that
    passes only so names the causes (``pool-tie``, ``relu-sign`` or both).
    """
    port = one_hot_diffs(net, x, target)
    forced = None
    flips = flips or {}
    causes = "+".join(cause for cause, found in ((POOL_TIE, ties), (RELU_SIGN, flips)) if found)
    if causes:
        masks = tie_masks(dump, ties)
        active = {layer: torch.from_numpy(on) for layer, on in flips.items()}
        forced = one_hot_diffs(net, x, target, pool_argmax=masks, relu_active=active)
    rows = []
    for name in dump.diff_names(index):
        legacy = dump.diff(index, name)
        fig = figures(legacy, _np(port[name]), f"diff of {name} ({target})")
        limit = tol.max_rel("backward", name, target.layer)
        if fig.max_rel <= limit:
            rows.append(BlobRow(name, fig, limit, PASS))
            continue
        alt = figures(legacy, _np(forced[name]), name) if forced is not None else None
        verdict = causes if alt is not None and alt.max_rel <= limit else FAIL
        rows.append(BlobRow(name, fig, limit, verdict, alt))
    return rows


def run_legacy_layers(
    prototxt: str | Path,
    weights: str | Path,
    stack: LegacyStack,
    x: np.ndarray,
    targets: Sequence[Target],
    threads: int = 1,
) -> JobResult:
    """Caffe's ``layers`` job on input ``x``: every blob, max-pool masks, the diffs of ``targets``."""
    with tempfile.TemporaryDirectory(prefix="mfv-layers-") as tmp:
        input_path = Path(tmp) / "input.npy"
        np.save(input_path, x)
        return stack.run(
            "layers",
            {"targets": [t.__dict__ for t in targets], "pool_masks": True},
            {"prototxt": Path(prototxt), "weights": Path(weights), "input": input_path},
            threads=threads,
        )


def run_layers_parity(
    prototxt: str | Path,
    weights: str | Path,
    stack: LegacyStack,
    *,
    image: str | Path | None = None,
    targets: Sequence[Target] | None = None,
    seed: int = 0,
    threads: int = 1,
    tolerances: Tolerances | None = None,
    legacy_result: JobResult | None = None,
    net: CaffeNetwork | None = None,
) -> LayersReport:
    """Run levels 0-2 on both stacks and return the report.

    ``legacy_result``: Caffe's ``layers`` job for these arguments, already run
    (:func:`run_legacy_layers`), e.g. to share it with ``parity.comparisons.onnx_layers``;
    ``net``: ``load_net(prototxt, weights)``, already loaded.
    """
    tol = tolerances or Tolerances.load()
    net = net or load_net(prototxt, weights)
    targets = list(targets) if targets else default_targets(net)
    for target in targets:
        check_target(net, target)
    x_np, input_note = make_input(net, image, seed)
    result = legacy_result or run_legacy_layers(prototxt, weights, stack, x_np, targets, threads)
    dump = LayersDump(result)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        trace = net.run(x)
    tie_table = find_all_ties(net, trace.blobs, trace.pool_argmax, dump)
    ties = [t for entry in tie_table.values() for t in entry.ties]
    masks = tie_masks(dump, ties)
    patterns = legacy_active(net, dump)
    flip_table = follow_flips(net, x, patterns, masks)
    flips = {layer: patterns[layer] for layer in flip_table}
    weight_rows = compare_weights(net, dump)
    forward_rows = compare_forward(net, trace.blobs, dump, tol)
    backward = [
        BackwardTarget(str(t), compare_backward(net, x, t, k, dump, tol, ties, flips)) for k, t in enumerate(targets)
    ]
    return LayersReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        inputs=LayersInputs.of(prototxt, weights, input_note, image, targets, stack, threads),
        tolerances={"source": tol.source, "table": tol.table},
        environment={"port": port_manifest(), "legacy": result.manifest},
        verdict=verdict(weight_rows, forward_rows, backward, len(ties), sum(f.units for f in flip_table.values())),
        weights=weight_rows,
        forward=forward_rows,
        pool_ties=tie_table,
        backward=backward,
        relu_flips=flip_table,
    )


def verdict(
    weight_rows: list[WeightRow],
    forward_rows: list[BlobRow],
    backward: list[BackwardTarget],
    n_ties: int,
    n_flips: int = 0,
) -> Verdict:
    """Pass/fail, every failure in words, and a one-line summary."""
    weights_equal = all(r.bitwise_equal for r in weight_rows)
    failures = [f"weights {r.layer}[{r.blob}] not bitwise equal" for r in weight_rows if not r.bitwise_equal]
    failures += [
        f"forward {r.blob}: max_rel {r.figures.max_rel:.3g} > {r.tolerance:g}"
        for r in forward_rows
        if r.verdict == FAIL
    ]
    failures += [
        f"backward {b.target} {r.blob}: max_rel {r.figures.max_rel:.3g} > {r.tolerance:g}"
        for b in backward
        for r in b.blobs
        if r.verdict == FAIL
    ]
    explained = sum(r.verdict not in (PASS, FAIL) for b in backward for r in b.blobs)
    forward_ok = sum(r.verdict == PASS for r in forward_rows)
    detail = (
        f"weights bitwise {'equal' if weights_equal else 'DIFFERENT'}, "
        f"{forward_ok}/{len(forward_rows)} blobs forward within tolerance, {len(backward)} backward "
        f"targets; {n_ties} max-pool near-tie window(s) and {n_flips} ReLU sign flip(s), explaining "
        f"{explained} out-of-tolerance diff(s); "
        f"{len(failures)} failure(s)"
    )
    return Verdict(not failures, detail, failures)
