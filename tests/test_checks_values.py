"""The value check kinds (gradgrader/checks/values.py) with a fake caller: the course's
reference runs in this process, with a classic mistake planted in one function.

compare · stability · sums · invariance: the reference passes each, and a planted
mistake fails it and is named (or, where nothing can be named, fails unnamed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CORRECT
from fakecaller import FakeCaller, caller_for, load_module, run_on

from gradgrader.assignment import load_assignment
from gradgrader.checks.prepared import Course
from gradgrader.grading import Grader
from gradgrader.ingest import single
from gradgrader.rubric import resolve_rubric


@pytest.fixture(scope="module")
def softmax() -> Course:
    return Course(load_assignment("softmax"))


@pytest.fixture(scope="module")
def gmm() -> Course:
    return Course(load_assignment("gmm"))


@pytest.fixture(scope="module")
def ref(softmax: Course) -> Any:
    return load_module(softmax.assignment.reference_path)


def naive_softmax(Z):
    with np.errstate(over="ignore", invalid="ignore"):
        E = np.exp(Z)  # no maximum subtracted: overflows on large scores
        return E / E.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------- compare


@pytest.mark.parametrize("check", ["softmax.value", "softmax_loss.loss", "softmax_loss.gradient", "softmax_jacobian.value"])
def test_compare_passes_the_reference(softmax: Course, check: str) -> None:
    result = run_on(softmax, check, caller_for(softmax))
    assert result.passed and result.fraction == 1.0 and result.mistakes == ()
    assert "matches the reference" in result.message


@pytest.mark.parametrize(
    ("mistake", "planted"),
    [
        ("sign-flipped", lambda loss, dW, N: (loss, -dW)),
        ("missing-normalization", lambda loss, dW, N: (loss, dW * N)),
        ("transposed", lambda loss, dW, N: (loss, dW.T)),
    ],
)
def test_compare_names_a_planted_gradient_mistake(softmax: Course, ref: Any, mistake: str, planted: Any) -> None:
    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return planted(loss, dW, X.shape[0])

    result = run_on(softmax, "softmax_loss.gradient", caller_for(softmax, softmax_loss=softmax_loss))
    assert not result.passed and result.fraction < 1.0  # (with N = 1, dW·N is right)
    assert result.mistakes == (mistake,)
    assert result.finding is not None and result.finding.mistake == mistake
    loss = run_on(softmax, "softmax_loss.loss", caller_for(softmax, softmax_loss=softmax_loss))
    assert loss.passed  # the loss is right: only the gradient's check fails


def test_compare_names_an_inverse_that_is_not_transposed(gmm: Course) -> None:
    result = run_on(gmm, "grad_logdet.value", caller_for(gmm, grad_logdet=lambda A: np.linalg.inv(A)))
    assert not result.passed and result.mistakes == ("inverse-not-transposed",)


def test_compare_names_code_that_raises_and_code_not_written(softmax: Course) -> None:
    def crashes(Z):
        raise ValueError("operands could not be broadcast together")

    def starter(Z):
        raise NotImplementedError

    crashed = run_on(softmax, "softmax.value", caller_for(softmax, softmax=crashes))
    assert crashed.mistakes == ("crashed",) and "ValueError" in crashed.message
    missing = run_on(softmax, "softmax.value", caller_for(softmax, softmax=starter))
    assert missing.mistakes == ("not-implemented",) and "not implemented yet" in missing.message


def test_compare_calls_the_function_once_per_case(softmax: Course) -> None:
    caller = caller_for(softmax)
    run_on(softmax, "softmax.value", caller)
    assert caller.calls == len(softmax.assignment.check("softmax.value").cases)


# ----------------------------------------------------------------- stability


def test_stability_passes_the_reference(softmax: Course) -> None:
    assert run_on(softmax, "softmax.stable", caller_for(softmax)).passed


def test_stability_names_a_softmax_that_overflows(softmax: Course) -> None:
    result = run_on(softmax, "softmax.stable", caller_for(softmax, softmax=naive_softmax))
    assert not result.passed and result.mistakes == ("unstable-softmax",)
    # ... while the ordinary cases still pass: the instability is the only mistake
    assert run_on(softmax, "softmax.value", caller_for(softmax, softmax=naive_softmax)).passed


def test_stability_does_not_blame_instability_on_code_wrong_everywhere(softmax: Course, ref: Any) -> None:
    result = run_on(softmax, "softmax.stable", caller_for(softmax, softmax=lambda Z: ref.softmax(Z).T.T * 2))
    assert not result.passed and "unstable-softmax" not in result.mistakes


# ----------------------------------------------------------------- sums


def test_sums_passes_the_reference(softmax: Course) -> None:
    result = run_on(softmax, "softmax.rows_sum_to_one", caller_for(softmax))
    assert result.passed and result.fraction == 1.0


def test_sums_fails_rows_that_do_not_sum_to_one(softmax: Course, ref: Any) -> None:
    def over_columns(Z):
        E = np.exp(Z - Z.max())
        return E / E.sum(axis=0, keepdims=True)  # normalised over the wrong axis

    result = run_on(softmax, "softmax.rows_sum_to_one", caller_for(softmax, softmax=over_columns))
    assert not result.passed and result.fraction == 0.0
    assert "expected" in result.message and "does not" in result.message


def test_sums_pays_nothing_for_a_constant_that_happens_to_sum_to_one(softmax: Course) -> None:
    uniform = run_on(softmax, "softmax.rows_sum_to_one", caller_for(softmax, softmax=lambda Z: np.full(Z.shape, 1 / Z.shape[1])))
    assert not uniform.passed and uniform.mistakes == ("ignores-input",)


# ----------------------------------------------------------------- invariance


def test_invariance_passes_the_reference(softmax: Course) -> None:
    assert run_on(softmax, "softmax.shift_invariant", caller_for(softmax)).passed


def test_invariance_fails_a_function_that_changes_with_the_shift(softmax: Course) -> None:
    def sigmoid(Z):
        return 1 / (1 + np.exp(-Z))  # the logistic habit: not invariant to adding a constant

    result = run_on(softmax, "softmax.shift_invariant", caller_for(softmax, softmax=sigmoid))
    assert not result.passed and "should not change" in result.message


def test_invariance_pays_nothing_for_a_constant(softmax: Course) -> None:
    result = run_on(softmax, "softmax.shift_invariant", caller_for(softmax, softmax=lambda Z: np.full(Z.shape, 1 / Z.shape[1])))
    assert not result.passed and result.mistakes == ("ignores-input",)


def test_the_fake_caller_is_what_the_checks_see() -> None:
    """The fake satisfies the Caller protocol the checks are written against."""
    from fakecaller import FakeProblem, FakeReturned

    from gradgrader.checks.caller import CallProblem, is_problem

    caller = FakeCaller({"f": lambda x: x * 2})
    (got,) = caller.call_many("f", [[np.ones(3)]], ["y"], 1.0)
    assert isinstance(got, FakeReturned) and not is_problem(got) and np.array_equal(got.values[0], 2 * np.ones(3))
    assert isinstance(FakeProblem("exception", "boom", "ValueError"), CallProblem)


@pytest.mark.parametrize(("check", "requests"), [("softmax.rows_sum_to_one", 1), ("softmax.shift_invariant", 2)])
def test_a_property_check_asks_for_all_its_cases_at_once(softmax: Course, check: str, requests: int) -> None:
    """The moved inputs (invariance), then the fresh draws (the real-answer test) of
    every case in one round trip each, not one per case (#17); the plain calls are
    prefetched by grading."""
    caller = caller_for(softmax)
    run_on(softmax, "softmax.value", caller)  # the plain calls (grading prefetches them)
    before = caller.requests
    assert run_on(softmax, check, caller).passed
    assert caller.requests - before == requests


def test_nan_everywhere_is_nan_output_not_an_instability(tmp_path: Path) -> None:
    source = CORRECT.replace("return e / e.sum(axis=1, keepdims=True)", "return e / e.sum(axis=1, keepdims=True) * np.nan")
    assert source != CORRECT
    (tmp_path / "softmax.py").write_text(source)
    spec = load_assignment("softmax")
    with Grader(spec, resolve_rubric(spec)) as grader:
        result = grader.grade(single(tmp_path / "softmax.py", spec.filename))
    stable = next(c for c in result.checks if c.id == "softmax.stable")
    assert not stable.passed and stable.mistakes == ("nan-output",)
    assert "unstable-softmax" not in result.mistakes


class _Ctx:
    """Just enough of a CheckContext for compare_case: the softmax assignment, with the
    reference's and the student's answers given."""

    def __init__(self, ref: float, got: float) -> None:
        import numpy as np

        self.assignment = load_assignment("softmax")
        self.course = type("C", (), {
            "dims": lambda _self, case: self.assignment.cases[case].dims,
            "call_hook": lambda _self, name, args, where: np.zeros(()),  # terms of size 0: no scale of their own
        })()
        self._ref, self._got = {"lse": np.array(ref)}, {"lse": np.array(got)}

    def inputs(self, fn, case):
        return {"z": None}

    def reference(self, fn, args):
        return self._ref

    def student(self, fn, args, dims, need=None):
        return self._got


@pytest.mark.parametrize("ref, named", [(2.5, True), (1e-17, False)], ids=["real-answer", "rounding-noise"])
def test_zeros_are_not_implemented_only_where_the_answer_is_not_zero(ref: float, named: bool) -> None:
    from gradgrader.checks.values import compare_case

    check = next(c for c in load_assignment("softmax").checks if c.id == "logsumexp.value")
    result = compare_case(_Ctx(ref, 0.0), check, "small", 1e-5, ["lse"])
    assert (result.mistakes == ("not-implemented",)) is named
    assert result.passed is not named


# ---------------------------------------------------------------- every course secret (trust)

# Secrets under which correct float32 code used to lose points (found by sweeping random
# secrets: relative errors up to 0.45 on τ − E[τ], 2e-2 on a peaked softmax's Jacobian,
# 5e-5 on log-sum-exp), then ordinary ones. The inputs a course secret draws are as
# legitimate as the public seed's: a correct answer gets full marks under every one.
HARD_SECRETS = ["ea1c05f2fcc9bedb", "c3fec92899ea5d39", "ce18fc68669cc01d", "9935a22f2d33484e",
                "5af1c4ac017aca10", "28cedcc939a968d8", "d2075bd46b06785c", "c99fffb5f875ea988ac024d4052df818"]
SECRETS = HARD_SECRETS + [f"course-secret-{i}" for i in range(12)]
SOFTMAX_SAMPLES = Path(__file__).resolve().parents[1] / "assignments" / "softmax" / "samples"


@pytest.fixture(scope="module")
def secret_courses() -> list[Course]:
    from gradgrader.cases import with_secret

    base = load_assignment("softmax")
    return [Course(with_secret(base, s)) for s in SECRETS]


def _value_checks(course: Course) -> list[str]:
    return [c.id for c in course.assignment.checks if c.kind in ("compare", "stability")]


@pytest.mark.parametrize("sample", ["correct-float32", "correct-vectorized", "correct-loops"])
def test_correct_code_gets_full_marks_under_every_course_secret(secret_courses: list[Course], sample: str) -> None:
    module = load_module(SOFTMAX_SAMPLES / sample / "softmax.py")
    lost = []
    for secret, course in zip(SECRETS, secret_courses):
        caller = FakeCaller({n: getattr(module, n) for n in course.assignment.functions}, course.assignment)
        for check in _value_checks(course):
            result = run_on(course, check, caller)
            if not (result.passed and result.fraction == 1.0):
                lost.append((secret, check, result.message))
    assert not lost, lost


@pytest.mark.parametrize(
    ("sample", "check", "mistake"),
    [
        ("sign-flipped", "softmax_loss.gradient", "sign-flipped"),
        ("missing-indicator-term", "softmax_loss.gradient", "missing-indicator-term"),
        ("jacobian-identity-minus-uniform", "softmax_jacobian.value", None),
        ("missing-expectation-term", "log_likelihood_grad.value", "missing-expectation-term"),
        ("jacobian-missing-diagonal", "softmax_jacobian.value", "jacobian-missing-diagonal"),
        ("logsumexp-missing-log", "logsumexp.value", None),
    ],
)
def test_a_mistake_is_still_caught_under_every_course_secret(
    secret_courses: list[Course], sample: str, check: str, mistake: str | None
) -> None:
    """Measuring against the terms' scale forgives rounding, not a wrong term."""
    module = load_module(SOFTMAX_SAMPLES / sample / "softmax.py")
    for secret, course in zip(SECRETS, secret_courses):
        caller = FakeCaller({n: getattr(module, n) for n in course.assignment.functions}, course.assignment)
        result = run_on(course, check, caller)
        assert not result.passed, (secret, result.message)
        if mistake is not None:
            assert mistake in result.mistakes, (secret, result.message)


def test_a_planted_sign_flip_of_the_log_likelihood_gradient_is_caught_under_every_course_secret(
    secret_courses: list[Course],
) -> None:
    ref = load_module(SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py")
    for secret, course in zip(SECRETS, secret_courses):
        caller = FakeCaller({"log_likelihood_grad": lambda theta, tau, T: -ref.log_likelihood_grad(theta, tau, T)}, course.assignment)
        result = run_on(course, "log_likelihood_grad.value", caller)
        assert not result.passed and "sign-flipped" in result.mistakes, (secret, result.message)
