"""Step-size and denoise-weight schedules within an octave (docs/legacy-spec.md, section 4).

Legacy mode evaluates the original expressions with Python 2 semantics,
where ``/`` between two ints is floor division:

    step_size      = start + ((end - start) * i) / iter_n
    denoise_weight = start - (start - end * i) / iter_n

(the second is the original's parenthesisation: not a ramp from start to
end; octave 1 of the mean preset gives 0.3979 at i = 0 and 0.7958 at
i = 189).  With all-int ends, octave 1's step stays 1 for all 190
iterations.

Modern mode gives the intended linear ramps with true division:
``start + (end - start) * i / iter_n`` for both.
"""

from __future__ import annotations

from port.mfv.presets import Number, Octave


def py2_div(a: Number, b: Number) -> Number:
    """``a / b`` as Python 2 evaluates it: floor division when both are ints."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return a / b


def step_size(octave: Octave, i: int, legacy: bool) -> float:
    start, end = octave.step
    if legacy:
        return float(start + py2_div((end - start) * i, octave.iter_n))
    return start + (end - start) * i / octave.iter_n


def denoise_weight(octave: Octave, i: int, legacy: bool) -> float:
    start, end = octave.denoise
    if legacy:
        return float(start - py2_div(start - end * i, octave.iter_n))
    return start + (end - start) * i / octave.iter_n
