"""``mfv demo``: the built-in default, end to end - layers, lockstep and free-run parity of CaffeNet, then
what MFV finds on PlantedCaffeNet.

CaffeNet gets GENERATED deterministic random weights (no pretrained weights
can be downloaded; the output says so), the MFV loop starts from its own
random image, and the real Caffe runs beside the port.  PlantedCaffeNet is
the network trained here, in Caffe, on synthetic planted-facet images
(docs/planted.md): its report shows each class's planted facets, the facets
``mfv facets`` recovers and MFV's image from each.  One directory with four
reports and an index page; nothing is opened.
"""

from __future__ import annotations

import argparse
import html
import tempfile
from pathlib import Path

from mfv_cli.exits import EXIT_OK, EXIT_PARITY_FAILED
from mfv_cli.options import add_report_options, add_stack_options, stack_from_args
from mfv_cli.reports import report_dir
from mfv_cli.validation import seed_number
from parity.comparisons.layers import run_layers_parity
from parity.comparisons.mfv import RunSetup, run_parity
from parity.comparisons.planted import measure_planted, planted_report
from parity.judges.verdict import FAIL, PASS
from parity.reports import write_report
from parity.reports.layers import render as render_layers
from parity.reports.planted import render as render_planted
from parity.reports.runs import render as render_run
from parity.stacks import LegacyStack
from port.caffe import Target, save_caffemodel
from port.imaging import random_start
from port.mfv.loop import MFVConfig
from port.mfv.presets import preset
from port.models import CAFFENET_PROTOTXT, PLANTED_CAFFENET_WEIGHTS, caffenet, planted_caffenet
from port.outputs import output_directory
from port.pages import page, table

UNIT = 945
RUN_SEED = 1


def run_demo(
    out: Path, stack: LegacyStack, *, seed: int = 0, threads: int = 1, quick: bool = False, force: bool = False
) -> tuple[bool, Path]:
    """Write the demo's reports into ``out`` (atomically, under the output rule); return (all passed, index page)."""
    print(
        f"mfv demo: CaffeNet with GENERATED deterministic random weights (seed {seed}) - not pretrained, no "
        f"download; unit {UNIT}, MFV mean preset{' shortened to a tenth (--quick)' if quick else ''}, random start "
        f"(seed {RUN_SEED}); legacy reference: real Caffe on {stack.name}"
    )
    net = caffenet(seed=seed)
    config = MFVConfig(Target("fc8", UNIT), preset("mean", iterations_scale=0.1 if quick else None))
    rows = []
    with tempfile.TemporaryDirectory(prefix="mfv-demo-") as tmp, output_directory(out, force=force) as partial:
        weights = Path(tmp) / f"caffenet-random-seed{seed}.caffemodel"
        save_caffemodel(net, CAFFENET_PROTOTXT, weights)
        print("[1/4] layers: weights, every blob forward, every diff backward")
        report = run_layers_parity(CAFFENET_PROTOTXT, weights, stack, seed=seed, threads=threads)
        write_report(partial / "layers", report, render_layers(report))
        rows.append(("layers (levels 0-2)", "layers", report.verdict))
        setup = RunSetup(net, CAFFENET_PROTOTXT, weights, config, RUN_SEED, None, None, "fc8")
        start = random_start(RUN_SEED)
        for k, mode in enumerate(("lockstep", "free"), start=2):
            print(
                f"[{k}/4] {mode}: "
                + (
                    "both stacks step the same crop at every iteration"
                    if mode == "lockstep"
                    else "whole runs on both stacks, legacy with 1 and 2 BLAS threads"
                )
            )
            report, images = run_parity(setup, stack, mode=mode, threads=threads)
            write_report(partial / mode, report, render_run(report, {"start": start, **images}))
            rows.append((f"{mode} (level {4 if mode == 'lockstep' else 5})", mode, report.verdict))
        print(
            "[4/4] planted: PlantedCaffeNet, TRAINED HERE in Caffe on synthetic planted-facet images - held-out "
            "accuracy, the facets mfv facets recovers, MFV from each facet classified on both stacks"
        )
        planted = planted_report(
            measure_planted(
                planted_caffenet(),
                stack,
                PLANTED_CAFFENET_WEIGHTS,
                iterations_scale=0.1 if quick else None,
                threads=threads,
                log=lambda line: print(f"  {line}"),
            ),
            PLANTED_CAFFENET_WEIGHTS,
        )
        write_report(partial / "planted", planted, render_planted(planted))
        rows.append(("planted facets on a trained net", "planted", planted.verdict))
        for _, _, verdict in rows:
            print(verdict.summary)
        index = [
            table(
                ["report", "verdict"],
                [[f"{title}", v.summary] for title, _, v in rows],
                [PASS if v.passed else FAIL for _, _, v in rows],
            ),
            "<ul>" + "".join(f"<li><a href='{d}/report.html'>{html.escape(t)}</a></li>" for t, d, _ in rows) + "</ul>",
            "<p>CaffeNet's weights are generated deterministic random numbers, not a trained CaffeNet. "
            "PlantedCaffeNet was trained here, in Caffe 1.0, on synthetic planted-facet images (docs/planted.md).</p>",
        ]
        (partial / "index.html").write_text(page("mfv demo: port vs Caffe, and MFV on a trained net", index))
    return all(v.passed for _, _, v in rows), out / "index.html"


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="layers, lockstep and free-run parity on the built-in default (CaffeNet with generated weights), "
        "then MFV on PlantedCaffeNet (trained here on synthetic images)",
    )
    add_report_options(parser, "demo")
    parser.add_argument("--seed", type=seed_number, default=0, help="seed of the generated weights")
    parser.add_argument("--quick", action="store_true", help="shorten the MFV schedule to a tenth")
    add_stack_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = report_dir(args, "demo")
    passed, index = run_demo(
        out, stack_from_args(args), seed=args.seed, threads=args.threads, quick=args.quick, force=args.force
    )
    print(f"report: {index}")
    return EXIT_OK if passed else EXIT_PARITY_FAILED
