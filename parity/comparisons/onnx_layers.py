"""onnxruntime as a third stack: every blob of the ONNX export against real Caffe and against the port.

The port exports the net with every blob as an output (``port.onnx``);
onnxruntime (CPU, ``threads`` intra-op threads) runs it on the input the
layers parity uses, and real Caffe's forward dump of the same net and
weights is the reference.  The report is a layers report whose ``forward``
rows are onnxruntime against Caffe, with ``versus_port`` rows (onnxruntime
against the port, the port as reference) and no backward pass (an ONNX
runtime does not differentiate); weights are the port's, checked bitwise
against Caffe's as in the layers parity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import numpy as np
import onnx
import onnxruntime
import torch

from parity.comparisons.layers import (
    BlobRow,
    LayersInputs,
    LayersReport,
    compare_weights,
    make_input,
    run_legacy_layers,
    verdict,
)
from parity.judges.figures import figures
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL, PASS, Verdict
from parity.stacks import JobResult, LegacyStack
from parity.stacks.environment import port_manifest
from parity.stacks.results import LayersDump
from port.caffe import CaffeNetwork, load_net
from port.onnx import DEFAULT_OPSET, export_onnx


@dataclass(frozen=True)
class OnnxStack:
    """What ran the export: opset, onnx and onnxruntime versions, the execution provider and its threads."""

    opset: int
    onnx_version: str
    onnxruntime_version: str
    provider: str
    threads: int


@dataclass(frozen=True)
class OnnxLayersReport(LayersReport):
    """A layers report of onnxruntime (forward rows against Caffe) plus ``versus_port`` rows."""

    kind: ClassVar[str] = "layers-onnx"
    versus_port: list[BlobRow] = field(default_factory=list)
    onnx: OnnxStack | None = None

    def sections(self) -> dict:
        return super().sections() | {
            "onnx": asdict(self.onnx) if self.onnx else None,
            "versus_port": [r.as_dict() for r in self.versus_port],
        }


def _rows(reference: dict[str, np.ndarray], ort: dict[str, np.ndarray], tol: Tolerances) -> list[BlobRow]:
    rows = []
    for name, ref in reference.items():
        fig = figures(ref, ort[name], name)
        limit = tol.max_rel("forward", name)
        rows.append(BlobRow(name, fig, limit, PASS if fig.max_rel <= limit else FAIL))
    return rows


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray], threads: int) -> dict[str, np.ndarray]:
    """Every graph output of ``model`` on ``feeds``, by name, on onnxruntime's CPU provider."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def run_onnx_parity(
    prototxt: str | Path,
    weights: str | Path,
    stack: LegacyStack,
    *,
    image: str | Path | None = None,
    seed: int = 0,
    threads: int = 1,
    opset: int = DEFAULT_OPSET,
    tolerances: Tolerances | None = None,
    legacy_result: JobResult | None = None,
    net: CaffeNetwork | None = None,
) -> OnnxLayersReport:
    """Export, run on onnxruntime and on Caffe, compare every blob; return the report.

    ``legacy_result`` and ``net`` as for ``parity.comparisons.layers.run_layers_parity`` (any targets).
    """
    tol = tolerances or Tolerances.load()
    net = net or load_net(prototxt, weights)
    export = export_onnx(net, opset=opset, all_blobs=True)
    x_np, input_note = make_input(net, image, seed)
    result = legacy_result or run_legacy_layers(prototxt, weights, stack, x_np, [], threads)
    dump = LayersDump(result)
    ort = run_onnxruntime(export.model, {next(iter(net.inputs)): x_np}, threads)
    with torch.no_grad():
        port = {k: v.numpy() for k, v in net.run(torch.from_numpy(x_np)).blobs.items()}
    compared = [name for name in dump.blob_names() if name in ort]
    forward = _rows({name: dump.blob(name) for name in compared}, ort, tol)
    versus_port = _rows({name: port[name] for name in compared}, ort, tol)
    weight_rows = compare_weights(net, dump)
    info = OnnxStack(export.opset, onnx.__version__, onnxruntime.__version__, "CPUExecutionProvider", threads)
    return OnnxLayersReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        inputs=LayersInputs.of(prototxt, weights, input_note, image, [], stack, threads),
        tolerances={"source": tol.source, "table": tol.table},
        environment={"port": port_manifest(), "legacy": result.manifest},
        verdict=onnx_verdict(info, weight_rows, forward, versus_port),
        weights=weight_rows,
        forward=forward,
        pool_ties={},
        backward=[],
        versus_port=versus_port,
        onnx=info,
    )


def onnx_verdict(info: OnnxStack, weight_rows: list, forward: list[BlobRow], versus_port: list[BlobRow]) -> Verdict:
    """The layers verdict of onnxruntime against Caffe, plus its failures against the port."""
    base = verdict(weight_rows, forward, [], 0)
    failures = list(base.failures or []) + [
        f"onnxruntime vs port {r.blob}: max_rel {r.figures.max_rel:.3g} > {r.tolerance:g}"
        for r in versus_port
        if r.verdict == FAIL
    ]
    within = [sum(r.verdict == PASS for r in rows) for rows in (forward, versus_port)]
    detail = (
        f"onnxruntime {info.onnxruntime_version}, opset {info.opset}: {within[0]}/{len(forward)} blobs within "
        f"tolerance of Caffe, {within[1]}/{len(versus_port)} of the port; {len(failures)} failure(s)"
    )
    return Verdict(not failures, detail, failures)
