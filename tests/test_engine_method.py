"""The parity engine with a second, trivial method: gradient ascent on a tiny net, written as its steps and stages only.

The method (:class:`Ascent`) is a test double of what DGN-AM or PPGN will be:
``x += lr * d f_unit / dx`` for a two-layer ReLU net, the port side with
torch's autograd, the legacy side a stand-in worker that computes the same
step by hand in numpy (``W1^T (w2_unit * [W1 x + b1 > 0])``).  Nothing else is
written for it: the engine drives the lockstep, measures its two stages and
applies its rules.  A planted wrong step (a learning rate 1% too large on the
port) must fail at every step; a method that calls a step beyond tolerance
``pass`` is refused by the engine; and whole runs of it go through the
free-run judges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from parity.engine import Answer, LockstepSection, free_section, run_lockstep
from parity.judges.runs import RunOutcome
from parity.judges.stages import Stage, stage_figures, within_tolerance
from parity.judges.verdict import FAIL, PASS

RNG = np.random.default_rng(3)
W1 = RNG.normal(size=(16, 12)).astype(np.float32)
B1 = RNG.normal(size=16).astype(np.float32)
W2 = RNG.normal(size=(4, 16)).astype(np.float32)
X0 = RNG.normal(size=12).astype(np.float32)
UNIT, LR, STEPS = 2, 0.05, 12
TOLERANCES = {"gradient_rel": 1e-5, "stepped_abs": 1e-5}


@dataclass(frozen=True)
class AscentRow:
    iteration: int
    figures: dict
    verdict: str

    def as_dict(self) -> dict:
        return {"iteration": self.iteration, **self.figures, "verdict": self.verdict}


class Ascent:
    """Gradient ascent on unit ``UNIT`` of the tiny net: the method's steps, stages and verdicts, nothing more."""

    name = "ascent"
    worker_kind = "ascent"
    tolerance_entry = "ascent"
    stages = (Stage("gradient", "max_rel", "gradient_rel"), Stage("stepped", "max_abs", "stepped_abs"))

    def __init__(self, lr: float = LR, judged_pass: bool = False) -> None:
        self.lr, self.judged_pass = lr, judged_pass

    def worker_job(self):
        return {"unit": UNIT, "lr": LR}, {}

    def run_port(self, lockstep=None, *, progress=False, stop_after=None):
        x, values = torch.from_numpy(X0.copy()), []
        for k in range(STEPS if stop_after is None else min(stop_after, STEPS)):
            if lockstep is not None:
                lockstep.send({"op": "step", "k": k}, {"x": x.numpy().copy()})
            x = x.clone().requires_grad_(True)
            value = (torch.from_numpy(W2) @ torch.relu(torch.from_numpy(W1) @ x + torch.from_numpy(B1)))[UNIT]
            (gradient,) = torch.autograd.grad(value, x)
            stepped = (x + self.lr * gradient).detach()
            values.append(float(value.detach()))
            if lockstep is not None:
                lockstep.judge({"gradient": gradient.numpy(), "stepped": stepped.numpy()}, k)
            x = stepped
        return x.numpy(), values

    def judge(self, context, port, answer: Answer, measured, within, lockstep) -> AscentRow:
        return AscentRow(context, measured, PASS if within or self.judged_pass else FAIL)

    def summarise(self, section):
        return {}

    def lockstep_notes(self, section):
        return "no bookkeeping", "exact"

    def describe(self, row):
        return f"step {row.iteration} differs"

    def run_legacy(self, stack, threads):
        raise NotImplementedError("the stand-in has no legacy stack")

    def outcome(self, run) -> RunOutcome:
        x, values = run
        return RunOutcome(
            np.tile(x, (2, 1))[..., None].repeat(3, -1), list(range(len(values))), values, [()] * len(values)
        )


class StandInAscent:
    """The legacy side, by hand in numpy: the gradient of ``w2_unit . relu(W1 x + b1)`` and the step."""

    def __init__(self) -> None:
        self.answer = None

    def send(self, header: dict, arrays: Mapping[str, np.ndarray] | None = None) -> None:
        x = arrays["x"].astype(np.float64)
        on = (W1.astype(np.float64) @ x + B1) > 0
        gradient = W1.T.astype(np.float64) @ (W2[UNIT].astype(np.float64) * on)
        self.answer = ({"op": "step"}, {"gradient": gradient, "stepped": x + LR * gradient})

    def receive(self):
        answer, self.answer = self.answer, None
        return answer


def test_the_port_steps_in_lockstep_with_the_stand_in():
    _, stepped = run_lockstep(Ascent(), StandInAscent(), TOLERANCES)
    section = stepped.section()
    assert [row.iteration for row in section.rows] == list(range(STEPS))
    assert section.verdicts == {PASS: STEPS} and section.passed
    worst = max(row.figures["stepped_abs"] for row in section.rows)
    assert 0 < worst <= TOLERANCES["stepped_abs"]  # float32 autograd against float64 by hand: rounding, not zero
    as_json = section.as_dict()
    assert (
        as_json["steps"] == STEPS
        and as_json["pass"]
        and set(as_json["rows"][0])
        == {
            "iteration",
            "gradient_rel",
            "stepped_abs",
            "verdict",
        }
    )
    assert section.verdict().summary.startswith(f"PASS: {STEPS} lockstep steps; no bookkeeping; {STEPS} within")


def test_a_planted_wrong_step_fails_every_step():
    _, stepped = run_lockstep(Ascent(lr=LR * 1.01), StandInAscent(), TOLERANCES)
    section = stepped.section()
    assert section.verdicts == {FAIL: STEPS} and not section.passed
    # the gradient itself agrees; only the step is wrong, and the engine measured exactly that stage
    assert all(row.figures["gradient_rel"] <= TOLERANCES["gradient_rel"] for row in section.rows)
    assert all(row.figures["stepped_abs"] > TOLERANCES["stepped_abs"] for row in section.rows)
    assert section.verdict().summary.startswith("FAIL:") and f"{STEPS} unexplained" in section.verdict().summary


def test_the_engine_refuses_a_pass_beyond_tolerance():
    with pytest.raises(RuntimeError, match="beyond tolerance was judged pass"):
        run_lockstep(Ascent(lr=LR * 1.01, judged_pass=True), StandInAscent(), TOLERANCES)


def test_a_missing_stage_is_named():
    class Silent(StandInAscent):
        def send(self, header, arrays=None):
            super().send(header, arrays)
            del self.answer[1]["stepped"]

    with pytest.raises(ValueError, match="stage\\(s\\) stepped missing"):
        run_lockstep(Ascent(), Silent(), TOLERANCES)


def test_a_replay_stops_where_asked_and_names_the_cause_of_a_free_runs_divergence():
    method = Ascent()
    port = method.outcome(method.run_port())
    wrong = Ascent(lr=LR * 1.5)
    legacy = wrong.outcome(wrong.run_port())
    _, replayed = run_lockstep(Ascent(lr=LR * 1.5), StandInAscent(), TOLERANCES, stop_after=3)
    replay = replayed.section()
    assert isinstance(replay, LockstepSection) and len(replay.rows) == 3
    free = free_section(
        port, legacy, legacy, {"divergence_rel": 1e-6, "psnr_margin_db": 0, "within_one_margin": 0}, replay
    )
    assert free.first_divergence.iteration == 1  # the activations part after the first (differing) step
    assert free.first_divergence.cause == "step 0 differs"
    # legacy against itself is exact here, so the port, 1.2 apart, lies outside that floor
    assert free.trace.offsets_and_schedules_identical and free.floor.figures.max_abs == 0 and not free.within_floor


def test_a_failed_check_fails_the_section():
    @dataclass(frozen=True)
    class Zoom:
        passed: bool

        def as_dict(self) -> dict:
            return {"pass": self.passed}

    _, stepped = run_lockstep(Ascent(), StandInAscent(), TOLERANCES)
    stepped.checks.append(Zoom(False))
    section = stepped.section()
    assert section.verdicts == {PASS: STEPS} and not section.passed and not section.as_dict()["pass"]


def test_stage_figures_measure_relative_and_absolute():
    stages = Ascent.stages
    reference = {"gradient": np.array([4.0, -2.0]), "stepped": np.array([1.0, 1.0])}
    subject = {"gradient": np.array([4.0, -1.0]), "stepped": np.array([1.0, 1.5])}
    assert stage_figures(stages, reference, subject) == {"gradient_rel": 0.25, "stepped_abs": 0.5}
    assert within_tolerance(
        stages, {"gradient_rel": 0.25, "stepped_abs": 0.5}, {"gradient_rel": 0.25, "stepped_abs": 0.5}
    )
    assert not within_tolerance(
        stages, {"gradient_rel": 0.26, "stepped_abs": 0.5}, {"gradient_rel": 0.25, "stepped_abs": 1}
    )
    with pytest.raises(KeyError, match="stepped_abs"):
        within_tolerance(stages, {"gradient_rel": 0.0, "stepped_abs": 0.0}, {"gradient_rel": 0.25})
    with pytest.raises(ValueError, match="measure"):
        Stage("image", "psnr", "image_db")
