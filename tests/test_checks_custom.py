"""``kind = "hook"`` (gradgrader/checks/custom.py) with a fake caller: the course's hook
calls the student's functions through the same context as every other check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fakecaller import FakeCaller, caller_for, load_module, run_on

import gradgrader.checks.custom as custom
from gradgrader.assignment import load_assignment
from gradgrader.checks.custom import Verdict
from gradgrader.checks.prepared import Course
from gradgrader.findings import CheckResult, Failure


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


# ---------------------------------------------------------------- a training loop in one request (#17)


@pytest.fixture(scope="module")
def softmax() -> Course:
    return Course(load_assignment("softmax"))


class StepByStep(FakeCaller):
    """A caller whose student process runs no descent: every step is its own call."""

    def descend(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []


def _softmax_ref(softmax: Course) -> Any:
    return load_module(softmax.assignment.reference_path)


def _planted(softmax: Course) -> dict[str, Any]:
    ref = _softmax_ref(softmax)
    calls = {"n": 0}

    def stateful(W, X, y, reg):  # right for three calls, then its gradient goes uphill
        calls["n"] += 1
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return loss, (dW if calls["n"] <= 3 else -dW)

    def nan_late(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return (float("nan") if np.abs(W).sum() > 1.0 else loss), dW

    def raises_late(W, X, y, reg):
        if np.abs(W).sum() > 1.0:
            raise ValueError("boom")
        return ref.softmax_loss(W, X, y, reg)

    return {
        "correct": ref.softmax_loss,
        "sign-flip": lambda W, X, y, reg: (lambda out: (out[0], -out[1]))(ref.softmax_loss(W, X, y, reg)),
        "float32": lambda W, X, y, reg: tuple(np.float32(v) for v in ref.softmax_loss(W, X, y, reg)),
        "transposed": lambda W, X, y, reg: (lambda out: (out[0], out[1].T))(ref.softmax_loss(W, X, y, reg)),
        "loss-not-a-number": lambda W, X, y, reg: (np.ones(2), ref.softmax_loss(W, X, y, reg)[1]),
        "nan-late": nan_late,
        "raises-late": raises_late,
        "stateful": stateful,
    }


@pytest.mark.parametrize("name", ["correct", "sign-flip", "float32", "transposed", "loss-not-a-number", "nan-late", "raises-late", "stateful"])
def test_the_training_check_says_the_same_in_one_request_as_step_by_step(softmax: Course, name: str) -> None:
    one = caller_for(softmax, softmax_loss=_planted(softmax)[name])
    many = StepByStep(caller_for(softmax, softmax_loss=_planted(softmax)[name]).functions, softmax.assignment)
    assert run_on(softmax, "softmax_loss.training", one) == run_on(softmax, "softmax_loss.training", many)
    assert one.calls == many.calls  # the child stops where the loop stops
    if name == "correct":
        assert one.requests == 1 and many.requests == 25


def test_a_descent_cut_short_goes_on_step_by_step_from_the_graders_own_iterate(softmax: Course) -> None:
    class StopsAfterTwo(FakeCaller):
        def descend(self, *args: Any, **kwargs: Any) -> list[Any]:
            return super().descend(*args, **{**kwargs, "steps": 2})

    ref = _softmax_ref(softmax)
    caller = StopsAfterTwo({"softmax_loss": ref.softmax_loss}, softmax.assignment)
    result = run_on(softmax, "softmax_loss.training", caller)
    assert result.passed and caller.calls == 25 and caller.requests == 1 + 23


def test_a_descent_whose_answers_do_not_follow_the_function_is_judged_on_what_it_returned(softmax: Course) -> None:
    """The grader computes every W itself from the returned dW: a child that reports a
    made-up trajectory gets what a stateful function returning those values would."""
    ref = _softmax_ref(softmax)

    class Lies(FakeCaller):
        def descend(self, function: str, args: list[Any], outputs: list[str], timeout: float, **kwargs: Any) -> list[Any]:
            made = super().descend(function, args, outputs, timeout, **kwargs)
            return [type(m)((m.values[0], np.zeros_like(m.values[1])), m.types, m.problems) for m in made]

    caller = Lies({"softmax_loss": ref.softmax_loss}, softmax.assignment)
    result = run_on(softmax, "softmax_loss.training", caller)
    assert not result.passed  # zero gradients: W stays 0, nothing is learned


def test_a_loop_that_asks_other_arguments_than_the_childs_iterate_gets_its_own_calls(softmax: Course) -> None:
    """student_descent hands out the child's answers only for exactly the iterate the
    child computed; another update rule (here: a clipped step) gets real calls."""
    from gradgrader.checks.context import CheckContext

    ref = _softmax_ref(softmax)
    caller = caller_for(softmax)
    ctx = CheckContext(softmax, caller)
    case = softmax.inputs("softmax_loss", "medium")
    dims = softmax.dims("medium")
    args = {**case, "W": np.zeros_like(case["W"])}
    steps = ctx.student_descent("softmax_loss", args, dims, variable="W", gradient="dW", rate=0.5, steps=5)
    W = args["W"]
    for _ in range(5):
        out = steps({**args, "W": W})
        loss, dW = ref.softmax_loss(W.copy(), case["X"], case["y"], case["reg"])
        assert not isinstance(out, Failure) and float(out["loss"]) == float(loss) and np.array_equal(out["dW"], dW)
        W = np.clip(W - 0.5 * out["dW"], -0.01, 0.01)  # not the child's x − rate·g
    assert caller.requests == 1 + 4  # the descent, then every clipped step on its own
