"""Argument types for counts, seeds, schedules and timeouts, refused by argparse before any work starts.

Each is an ``argparse`` ``type=``: a bad value is a usage error (exit 2)
naming the flag and the allowed range.
"""

from __future__ import annotations

import argparse
import math

MAX_SEED = 2**32 - 1


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1 (threads, counts, batch sizes)."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def seed_number(text: str) -> int:
    """A seed numpy accepts: 0 to 2**32 - 1."""
    value = _number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..{MAX_SEED}")
    return value


def fraction(text: str) -> float:
    """A finite number in (0, 1] (``--iterations-scale`` shortens schedules)."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} is outside (0, 1]")
    return value


def seconds(text: str) -> float:
    """A finite, positive number of seconds."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not a positive number of seconds")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0 (units and positions; their upper bound is checked against the net)."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value
