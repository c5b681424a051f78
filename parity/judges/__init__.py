"""How a difference is judged: tolerances, figures, verdicts, the stages of a step, ties and flips, runs.

* :mod:`~parity.judges.tolerances` - the tolerance table (``tolerances.json``, data);
* :mod:`~parity.judges.figures` - ``max_abs``, ``max_rel``, ``mean_abs`` of two arrays, bitwise equality;
* :mod:`~parity.judges.verdict` - the verdict names, a report's :class:`Verdict` and the :class:`Report` record;
* :mod:`~parity.judges.stages` - the compared :class:`Stage` s of an iterative method's step;
* :mod:`~parity.judges.pool_ties`, :mod:`~parity.judges.relu_flips`, :mod:`~parity.judges.choices` - max-pool
  near-ties and ReLU sign flips, found and followed;
* :mod:`~parity.judges.step_attribution` - why one MFV step differs, proved stage by stage, or a failure;
* :mod:`~parity.judges.runs` - whole runs (:class:`RunOutcome`) against the legacy noise floor.

Judges import the environments (:mod:`parity.stacks`) at most: never the engine, a comparison or a report.
"""

from parity.judges.figures import Figures, bitwise_equal, figures
from parity.judges.runs import ImageFigures, RunOutcome, image_figures, within_floor
from parity.judges.stages import Stage, stage_figures, within_tolerance
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import DENOISER, FAIL, PASS, POOL_TIE, RELU_SIGN, STOP_TIE, Report, Verdict

__all__ = [
    "DENOISER",
    "FAIL",
    "PASS",
    "POOL_TIE",
    "RELU_SIGN",
    "STOP_TIE",
    "Figures",
    "ImageFigures",
    "Report",
    "RunOutcome",
    "Stage",
    "Tolerances",
    "Verdict",
    "bitwise_equal",
    "figures",
    "image_figures",
    "stage_figures",
    "within_floor",
    "within_tolerance",
]
