"""The reports: ``report.json`` and a self-contained ``report.html`` per comparison.

Renderers read results (:mod:`parity.comparisons`, :mod:`parity.engine`) and never the reverse: one
module per kind of report (:mod:`~parity.reports.layers`, :mod:`~parity.reports.ops`,
:mod:`~parity.reports.runs`, :mod:`~parity.reports.env`), and :mod:`~parity.reports.write`, which
writes a report's folder atomically.
"""

from parity.reports.write import verdict_header, write_report

__all__ = ["verdict_header", "write_report"]
