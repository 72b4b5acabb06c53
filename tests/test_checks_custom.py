"""``kind = "hook"`` (gradgrader/checks/custom.py) with a fake caller: the course's hook
calls the student's functions through the same context as every other check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fakecaller import caller_for, load_module, run_on

import gradgrader.checks.custom as custom
from gradgrader.assignment import load_assignment
from gradgrader.checks.custom import Verdict
from gradgrader.checks.prepared import Course
from gradgrader.findings import CheckResult


@pytest.fixture(scope="module")
def gmm() -> Course:
    return Course(load_assignment("gmm"))


@pytest.fixture(scope="module")
def ref(gmm: Course) -> Any:
    return load_module(gmm.assignment.reference_path)


@pytest.mark.parametrize("check", ["m_step.simplex", "m_step.spd", "m_step.stationary_mu", "m_step.no_ascent", "em.iterations"])
def test_a_hook_check_passes_the_reference(gmm: Course, check: str) -> None:
    result = run_on(gmm, check, caller_for(gmm))
    assert result.passed and result.fraction == 1.0 and result.kind == "hook"


def test_a_hook_check_names_a_planted_mistake(gmm: Course, ref: Any) -> None:
    def m_step(X, q):
        pi, mu, Sigma = ref.m_step(X, q)
        return pi * X.shape[0], mu, Sigma  # N_k, not N_k / N: π no longer on the simplex

    result = run_on(gmm, "m_step.simplex", caller_for(gmm, m_step=m_step))
    assert not result.passed and result.mistakes == ("pi-not-normalized",)


def test_a_property_hook_pays_nothing_for_an_answer_that_ignores_the_data(gmm: Course, ref: Any) -> None:
    """needs_real_answer: Σ_k = I is positive definite, and no M step."""

    def m_step(X, q):
        pi, mu, Sigma = ref.m_step(X, q)
        return pi, mu, np.broadcast_to(np.eye(X.shape[1]), Sigma.shape).copy()

    result = run_on(gmm, "m_step.spd", caller_for(gmm, m_step=m_step))
    assert not result.passed and result.fraction == 0.0 and result.mistakes == ("ignores-input",)


def _with_hook(monkeypatch: pytest.MonkeyPatch, out: Any) -> None:
    monkeypatch.setattr(custom, "find_hook", lambda assignment, name, where: lambda check, ctx: out)


def test_a_verdict_becomes_the_checks_result(gmm: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    _with_hook(monkeypatch, Verdict(False, "the likelihood went down", mistakes=("em-not-monotone",)))
    result = run_on(gmm, "em.iterations", caller_for(gmm))
    assert (result.passed, result.fraction, result.message, result.mistakes) == (False, 0.0, "the likelihood went down", ("em-not-monotone",))
    _with_hook(monkeypatch, Verdict(True, "fine", fraction=None))
    assert run_on(gmm, "em.iterations", caller_for(gmm)).fraction == 1.0


def test_a_hook_may_return_a_full_result_and_nothing_else(gmm: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    full = CheckResult("em.iterations", "m_step", "hook", False, 0.5, "half", ())
    _with_hook(monkeypatch, full)
    assert run_on(gmm, "em.iterations", caller_for(gmm)).fraction == 0.5
    _with_hook(monkeypatch, True)
    with pytest.raises(TypeError, match="must return a Verdict"):
        run_on(gmm, "em.iterations", caller_for(gmm))
