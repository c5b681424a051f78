"""The stages of one step of an iterative method, compared between two computations of it.

A method names the arrays its step produces (a gradient, the stepped image,
the denoised image, a generator's image, a code update ...) as
:class:`Stage` s, each with its measure and the tolerance that bounds it:

* ``max_rel``: ``max |subject - reference| / max |reference|`` (gradients, whose
  scale is arbitrary);
* ``max_abs``: ``max |subject - reference|`` in the array's own units (grey levels
  for images).

Both come from :func:`parity.judges.figures.figures` (float64, non-finite values
equal only to the same non-finite value).  A step is *within tolerance* when
every stage's figure is at most its tolerance; what a method does with one that
is not (attribute it, or fail it) is its own :class:`parity.engine.IterativeMethod`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from parity.judges.figures import figures

MEASURES = {"max_rel": "rel", "max_abs": "abs"}


@dataclass(frozen=True)
class Stage:
    """One compared array of a step: its ``name``, its ``measure`` (``max_rel`` or ``max_abs``) and the key of the
    tolerance that bounds it (several stages may share one, e.g. the stepped and the clipped crop)."""

    name: str
    measure: str
    tolerance: str

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"stage {self.name}: measure must be one of {sorted(MEASURES)}, not {self.measure!r}")

    @property
    def figure(self) -> str:
        """The figure's name in a judgement: ``<name>_rel`` or ``<name>_abs``."""
        return f"{self.name}_{MEASURES[self.measure]}"


def stage_figures(
    stages: Sequence[Stage], reference: Mapping[str, np.ndarray], subject: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """Each stage's figure of ``subject`` against ``reference``, in the stages' order, by :attr:`Stage.figure`."""
    return {
        stage.figure: getattr(figures(reference[stage.name], subject[stage.name], stage.name), stage.measure)
        for stage in stages
    }


def within_tolerance(stages: Sequence[Stage], measured: Mapping[str, float], tolerances: Mapping[str, float]) -> bool:
    """Is every stage's figure at most its tolerance?  A tolerance missing from ``tolerances`` is an error."""
    missing = sorted({stage.tolerance for stage in stages} - set(tolerances))
    if missing:
        raise KeyError(f"tolerance(s) {', '.join(missing)} missing for the stages {[s.name for s in stages]}")
    return all(measured[stage.figure] <= tolerances[stage.tolerance] for stage in stages)
