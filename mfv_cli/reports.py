"""Where a parity command's report folder goes by default, and what the command says and returns at the end."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mfv_cli.exits import EXIT_OK, EXIT_PARITY_FAILED
from parity.judges.verdict import Report
from port.outputs import check_output

REPORTS = Path("reports")


def report_dir(args: argparse.Namespace, prefix: str) -> Path:
    """``--out``, or ``reports/<prefix>-<YYYYmmdd-HHMMSS>``, checked by the output rule (``--force``)."""
    return check_output(args.out or REPORTS / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}", force=args.force)


def announce(report: Report, path: Path) -> int:
    """Print the verdict's summary and where the report is; the exit status: 0 on pass, 1 on fail."""
    print(report.verdict.summary)
    print(f"report: {path}")
    return EXIT_OK if report.verdict.passed else EXIT_PARITY_FAILED
