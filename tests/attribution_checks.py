"""Checks of a judged step's evidence, shared by the lockstep (port vs Caffe) and batch (batch vs alone) tests.

Every verdict but ``fail`` must carry the figures that prove it, each
within the tolerance it is held to; these re-read them, independently of
the code that decided the verdict.
"""

from parity.judges.step_attribution import StepTolerances

CAUSES = {"pool-tie", "relu-sign", "denoiser"}


def assert_step_evidence(row: dict, tol: StepTolerances) -> None:
    """One judged step (its ``as_dict`` row): a pass within every tolerance, or each cause proved."""
    assert row["verdict"] != "fail", row
    if row["verdict"] == "pass":
        assert row["gradient_rel"] <= tol.gradient_rel
        assert max(row["stepped_abs"], row["clipped_abs"]) <= tol.stepped_abs
        assert row["denoised_abs"] <= tol.denoised_abs
        return
    causes = row["verdict"].split("+")
    assert set(causes) <= CAUSES and len(set(causes)) == len(causes), row["verdict"]
    assert ("pool-tie" in causes) == bool(row["ties"]) and ("relu-sign" in causes) == bool(row["relu_flips"])
    if row["ties"] or row["relu_flips"]:
        assert row["gradient_rel"] > tol.gradient_rel >= row["gradient_rel_forced"]
    else:
        assert row["gradient_rel"] <= tol.gradient_rel
    assert max(row["followed_stepped_abs"], row["followed_clipped_abs"]) <= tol.stepped_abs
    if "denoiser" in causes:
        assert row["followed_denoised_abs"] > tol.denoised_abs
        assert row["same_denoiser_abs"] <= tol.same_denoiser_abs
        assert row["iterations"][0] != row["iterations"][1]
    else:
        assert row["followed_denoised_abs"] <= tol.denoised_abs
