"""The check kinds on functions written here, without a sandbox: advice that is never
scored (advice_cases), property checks that pay only for real answers (placeholders
and answers that ignore an input earn nothing and are named), and the two shape
differences np.isclose lets through (a size-1 array for a number, a number for (1,)).

``FakeCaller`` (tests/fakecaller.py) runs trusted test functions in this process and
hands their outputs back as the sandbox does (float64 arrays, one per declared output), so every
test here takes milliseconds and exercises the real check code.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SOFTMAX_SAMPLES, _check_json
from fakecaller import FakeCaller, caller_for, run_on

from gradgrader.assignment import load_assignment
from gradgrader.checks import run_check, validate_check
from gradgrader.checks.base import CaseResult, CheckContext, Course, summarise
from gradgrader.errors import ConfigError
from gradgrader.spec import CheckSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(scope="module")
def softmax_course() -> Course:
    return Course(load_assignment("softmax"))


@pytest.fixture(scope="module")
def gmm_course() -> Course:
    return Course(load_assignment("gmm"))


def run(course: Course, check_id: str, **functions: Callable[..., Any]) -> Any:
    ctx = CheckContext(course, FakeCaller(functions))
    return run_check(course.assignment.check(check_id), ctx)


# ----------------------------------------------------------------- functions under test


def stable_softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_of(log_probs: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Any]:
    """A softmax_loss whose log-probabilities come from ``log_probs(scores)``."""

    def softmax_loss(W, X, y, reg):
        N = X.shape[0]
        lp = log_probs(X @ W.T)
        loss = -lp[np.arange(N), y].mean() + 0.5 * reg * np.sum(W * W)
        d = np.exp(lp)
        d[np.arange(N), y] -= 1
        return loss, d.T @ X / N + reg * W

    return softmax_loss


def log_softmax(S):
    S = S - S.max(axis=1, keepdims=True)
    return S - np.log(np.exp(S).sum(axis=1, keepdims=True))


def log_of_softmax(S):
    with np.errstate(divide="ignore"):
        return np.log(stable_softmax(S))  # the textbook loss: -inf where P underflowed


def log_of_naive_softmax(S):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(S)
        return np.log(e / e.sum(axis=1, keepdims=True))


# ----------------------------------------------------------------- advice (#15.1)


def test_a_loss_that_fails_only_beyond_the_contract_gets_full_points_and_advice(softmax_course):
    check = run(softmax_course, "softmax_loss.stable", softmax_loss=loss_of(log_of_softmax))
    assert check.passed and check.fraction == 1.0 and check.mistakes == ()
    assert [c.case for c in check.cases] == ["shifted"]  # the advice case is not scored
    (advice,) = check.advice
    assert "case 'wide'" in advice and "log-softmax" in advice and "NaN/inf" in advice


def test_a_loss_right_everywhere_gets_no_advice(softmax_course):
    check = run(softmax_course, "softmax_loss.stable", softmax_loss=loss_of(log_softmax))
    assert check.passed and check.advice == ()


def test_a_loss_that_breaks_the_contract_still_fails_and_gets_no_advice_on_top(softmax_course):
    # No maximum subtracted: inf on the contract's own case 'shifted'.
    check = run(softmax_course, "softmax_loss.stable", softmax_loss=loss_of(log_of_naive_softmax))
    assert not check.passed and check.fraction == 0.0
    assert check.mistakes == ("unstable-softmax",) and check.advice == ()


def test_where_the_contract_does_ask_for_wide_logits_an_underflow_is_still_named(softmax_course):
    """Without advice_cases (a course whose contract asks for ±10⁴), the same loss fails
    'wide' and the underflow is named as such (underflow_mistake), not unstable-softmax."""
    base = softmax_course.assignment.check("softmax_loss.stable")
    params = {k: v for k, v in base.params.items() if k not in {"advice_cases", "advice"}}
    scored = dataclasses.replace(base, params={**params, "underflow_mistake": "unstable-logsumexp", "underflow_cases": ["wide"]})
    ctx = CheckContext(softmax_course, FakeCaller({"softmax_loss": loss_of(log_of_softmax)}))
    check = run_check(scored, ctx)
    assert not check.passed and check.fraction == 0.5 and check.mistakes == ("unstable-logsumexp",) and check.advice == ()


def _case(name: str, passed: bool, mistake: str = "") -> CaseResult:
    return CaseResult(name, passed, None, f"{name} {'ok' if passed else 'broke'}", (mistake,) if mistake else ())


def test_summarise_leaves_advice_cases_out_of_fraction_mistakes_and_message():
    check = CheckSpec("f.stable", "f", "stability", ("a", "b", "c"), {"advice_cases": ["c"], "advice": "use log-softmax"})
    partly = summarise(check, [_case("a", True), _case("b", False, "m"), _case("c", False, "n")], "fine")
    assert partly.fraction == 0.5 and partly.mistakes == ("m",) and "c broke" not in partly.message
    assert partly.advice == ()  # the scored failure comes first
    passed = summarise(check, [_case("a", True), _case("b", True), _case("c", False, "n")], lambda done: f"fine on {len(done)}")
    assert passed.passed and passed.fraction == 1.0 and passed.mistakes == () and passed.message == "fine on 2"
    assert passed.advice == ("c broke — use log-softmax",)


@pytest.mark.parametrize(
    "params, says",
    [
        ({"advice_cases": ["hidden"]}, "must also be in cases"),
        ({"advice_cases": ["shifted", "wide"]}, "for nothing"),
        ({"advice": "words"}, "needs advice_cases"),
        ({"advice_cases": "wide"}, "list of case names"),
    ],
)
def test_advice_configuration_mistakes_are_reported_when_the_assignment_loads(softmax_course, params, says):
    base = softmax_course.assignment.check("softmax.stable")
    check = dataclasses.replace(base, params={"mistake": "unstable-softmax", **params})
    with pytest.raises(ConfigError, match=says):
        validate_check(softmax_course.assignment, check, Path("assignment.toml"))


def test_every_kind_with_cases_accepts_advice_cases(softmax_course):
    for check in softmax_course.assignment.checks:
        if len(check.cases) > 1:
            validate_check(softmax_course.assignment, dataclasses.replace(
                check, params={**check.params, "advice_cases": [check.cases[-1]], "advice": "x"}), Path("a.toml"))


# ----------------------------------------------------------------- real answers (#15.5)


def uniform_softmax(Z):
    return np.full(Z.shape, 1.0 / Z.shape[1])


def identity_minus_uniform(z):
    return np.eye(len(z)) - 1.0 / len(z)


def tiny(function: str) -> Callable[..., Any]:
    """``function`` answering 5e-324 in every entry of the right shape."""

    def f(*args):
        shape = (len(args[0]),) * 2 if function == "softmax_jacobian" else np.shape(args[0])
        return np.full(shape, 5e-324)

    return f


def quadratic_loss(W, X, y, reg):
    return 0.5 * np.sum(W * W), W.copy()


def summed_loss(W, X, y, reg):
    """A real but wrong loss: summed over samples, with its (consistent) summed gradient."""
    N = X.shape[0]
    loss, dW = loss_of(log_softmax)(W, X, y, reg)
    return N * (loss - 0.5 * reg * np.sum(W * W)) + 0.5 * reg * np.sum(W * W), N * (dW - reg * W) + reg * W


@pytest.mark.parametrize(
    "check_id, function, wrong",
    [
        ("softmax.rows_sum_to_one", "softmax", uniform_softmax),
        ("softmax.shift_invariant", "softmax", uniform_softmax),
        ("softmax_jacobian.row_sums", "softmax_jacobian", identity_minus_uniform),
        ("softmax_loss.self_consistency", "softmax_loss", quadratic_loss),
    ],
)
def test_an_answer_that_ignores_its_input_earns_nothing_from_a_property_check(softmax_course, check_id, function, wrong):
    check = run(softmax_course, check_id, **{function: wrong})
    assert not check.passed and check.fraction == 0.0
    assert check.mistakes == ("ignores-input",)
    assert "not change when" in check.message and "only on a real answer" in check.message


def test_the_message_names_the_argument_that_is_ignored(softmax_course):
    check = run(softmax_course, "softmax_loss.self_consistency", softmax_loss=quadratic_loss)
    assert "loss and dW do not change when X or y changes" in check.message  # W they do use


@pytest.mark.parametrize(
    "check_id, function",
    [
        ("softmax.rows_sum_to_one", "softmax"),
        ("softmax.shift_invariant", "softmax"),
        ("softmax_jacobian.row_sums", "softmax_jacobian"),
        ("softmax_loss.self_consistency", "softmax_loss"),
        ("softmax_loss.class_sums", "softmax_loss"),
    ],
)
def test_tiny_constants_are_placeholders(softmax_course, check_id, function):
    f = (lambda W, X, y, reg: (5e-324, np.full(W.shape, 5e-324))) if function == "softmax_loss" else tiny(function)
    check = run(softmax_course, check_id, **{function: f})
    assert not check.passed and check.fraction == 0.0 and check.mistakes == ("not-implemented",)
    assert "too small to be anything but zero" in check.message


def test_zeros_earn_nothing_from_shift_invariance(softmax_course):
    check = run(softmax_course, "softmax.shift_invariant", softmax=np.zeros_like)
    assert not check.passed and check.fraction == 0.0 and check.mistakes == ("not-implemented",)


@pytest.mark.parametrize(
    "check_id, function, right",
    [
        ("softmax.rows_sum_to_one", "softmax", stable_softmax),
        ("softmax.shift_invariant", "softmax", stable_softmax),
        ("softmax_jacobian.row_sums", "softmax_jacobian", lambda z: np.diag(stable_softmax(z[None])[0]) - np.outer(stable_softmax(z[None])[0], stable_softmax(z[None])[0])),
        ("softmax_loss.self_consistency", "softmax_loss", loss_of(log_softmax)),
        # Real but wrong (summed, not averaged): consistent with its own gradient, so it
        # keeps the self-consistency points; the value checks name its mistake.
        ("softmax_loss.self_consistency", "softmax_loss", summed_loss),
    ],
)
def test_real_answers_still_earn_property_checks(softmax_course, check_id, function, right):
    check = run(softmax_course, check_id, **{function: right})
    assert check.passed, check.message


def test_float32_answers_are_real_answers(softmax_course):
    check = run(softmax_course, "softmax.rows_sum_to_one", softmax=lambda Z: stable_softmax(Z.astype(np.float32)))
    assert check.passed, check.message


def uniform_q(X, pi, mu, Sigma):
    return np.full((X.shape[0], len(pi)), 1.0 / len(pi))


def test_uniform_responsibilities_are_paid_only_where_they_are_the_answer(gmm_course):
    check = run(gmm_course, "e_step.rows_sum_to_one", e_step=uniform_q)
    # With K = 1 (case one_component), q = 1 is the answer: a fresh draw of the inputs
    # does not move the reference either, so that case is not degenerate.
    assert [c.case for c in check.cases if c.passed] == ["one_component"]
    assert check.mistakes == ("ignores-input",)


def test_a_hook_property_check_pays_only_for_a_real_answer(gmm_course):
    def m_step_identity(X, q):
        Nk = q.sum(axis=0)
        return Nk / X.shape[0], (q.T @ X) / Nk[:, None], np.stack([np.eye(X.shape[1])] * len(Nk))

    check = run(gmm_course, "m_step.spd", m_step=m_step_identity)
    assert not check.passed and check.fraction == 0.0 and check.mistakes == ("ignores-input",)
    assert "m_step's Sigma does not change when X or q changes" in check.message


# ----------------------------------------------------------------- shapes (#15.3)


def gmm_reference(course: Course, name: str) -> Callable[..., Any]:
    return getattr(course.reference, name)


def test_a_log_likelihood_of_shape_1_is_accepted_with_a_note(gmm_course):
    ll = gmm_reference(gmm_course, "log_likelihood")
    check = run(gmm_course, "log_likelihood.value", log_likelihood=lambda *a: np.array([ll(*a)]))
    assert check.passed and check.fraction == 1.0
    assert "(note: log_likelihood returned as an array of shape (1,) where a number is expected" in check.message


def test_a_size_1_matrix_for_a_number_is_accepted_too(softmax_course):
    check = run(softmax_course, "logsumexp.value", logsumexp=lambda z: np.array([[np.log(np.exp(z - z.max()).sum()) + z.max()]]))
    assert check.passed and "shape (1, 1)" in check.message


def test_a_number_for_a_one_entry_array_is_accepted_when_k_is_1(gmm_course):
    m_step = gmm_reference(gmm_course, "m_step")

    def scalar_pi(X, q):
        pi, mu, Sigma = m_step(X, q)
        return (float(pi[0]) if len(pi) == 1 else pi), mu, Sigma

    check = run(gmm_course, "m_step.pi", m_step=scalar_pi)
    assert check.passed, check.message
    assert "m_step returned pi as a single number where shape (1,) is expected" in check.message


def test_other_shapes_stay_exact(gmm_course, softmax_course):
    ll = gmm_reference(gmm_course, "log_likelihood")
    two = run(gmm_course, "log_likelihood.value", log_likelihood=lambda *a: np.array([ll(*a)] * 2))
    assert not two.passed and two.mistakes == ("wrong-shape",)
    # A number where K > 1 entries are expected is no np.isclose leniency.
    m_step = gmm_reference(gmm_course, "m_step")
    first = run(gmm_course, "m_step.pi", m_step=lambda X, q: (float(m_step(X, q)[0][0]), *m_step(X, q)[1:]))
    assert not first.passed and first.mistakes == ("wrong-shape",)
    # A (1,) array for a (D,) gradient with D = 1 is exact already; (1, 1) for (1,) is not lenient.
    grad = run(softmax_course, "log_partition_grad.value", log_partition_grad=lambda theta, T: (T.T @ stable_softmax((T @ theta)[None])[0])[None, :])
    assert not grad.passed and "wrong-shape" in grad.mistakes


# ----------------------------------------------------------------- named only when true


def _failing(name: str, *mistakes: str, summary: str = "") -> CaseResult:
    from gradgrader.checks.base import Finding

    finding = Finding(mistakes[0] if mistakes else None, summary) if (mistakes or summary) else None
    return CaseResult(name, False, 0.5, f"differs on {name}", tuple(mistakes), finding)


def test_a_mistake_named_on_one_case_and_contradicted_on_others_is_not_named() -> None:
    # A tiny case can match "the negative" by coincidence while the others read otherwise.
    from gradgrader.checks.base import _named_mistakes

    other = "dW decomposes as expectation × 0.3, data × 1.7"
    cases = [_failing("edge", "sign-flipped"), _failing("small", summary=other), _failing("medium", summary=other)]
    assert _named_mistakes(cases) == []


def test_a_mistake_on_most_failing_cases_is_named_and_runtime_ids_always_are() -> None:
    from gradgrader.checks.base import _named_mistakes

    # 'edge' is too small to decompose (no name) but does not contradict the other two.
    cases = [_failing("medium", "wrong-regularization"), _failing("hidden", "wrong-regularization"), _failing("edge")]
    assert _named_mistakes(cases) == ["wrong-regularization"]
    assert _named_mistakes([_failing("small", "timeout"), _failing("medium", "sign-flipped")]) == ["timeout", "sign-flipped"]


def test_a_size_of_another_case_in_an_error_is_noted_and_an_ordinary_shape_error_is_not() -> None:
    from types import SimpleNamespace

    from gradgrader.checks.values import hard_coded_size

    cases = {"small": SimpleNamespace(dims={"N": 7, "D": 5}), "course": SimpleNamespace(dims={"N": 500, "D": 3073})}
    ctx = SimpleNamespace(course=SimpleNamespace(dims=lambda c: cases[c].dims), assignment=SimpleNamespace(cases=cases))
    note = hard_coded_size(ctx, "small", "raised IndexError: shapes (500,) (7,)")
    assert "500 is N of case 'course'" in note
    assert hard_coded_size(ctx, "small", "raised ValueError: shapes (7,5) and (3,) not aligned") == ""
    assert hard_coded_size(ctx, "small", "raised IndexError: index 2 is out of bounds") == ""


def test_a_huge_number_in_a_students_exception_text_is_no_grader_error() -> None:
    from types import SimpleNamespace

    from gradgrader.checks.values import hard_coded_size

    cases = {"small": SimpleNamespace(dims={"N": 7}), "course": SimpleNamespace(dims={"N": 500})}
    ctx = SimpleNamespace(course=SimpleNamespace(dims=lambda c: cases[c].dims), assignment=SimpleNamespace(cases=cases))
    assert hard_coded_size(ctx, "small", "raised ValueError: " + "9" * 5000) == ""


def test_a_time_out_is_never_read_as_a_hard_coded_size() -> None:
    """The cs229-gmm starter's endless run_em: "did not finish within 3 s" on a case of
    d = 2 while case 'three_d' has d = 3 — the 3 is the limit, not a size in the code."""
    from types import SimpleNamespace

    from gradgrader.checks.values import hard_coded_size

    cases = {"two_d": SimpleNamespace(dims={"d": 2}), "three_d": SimpleNamespace(dims={"d": 3})}
    ctx = SimpleNamespace(course=SimpleNamespace(dims=lambda c: cases[c].dims), assignment=SimpleNamespace(cases=cases))
    message = "run_em did not finish within 3 s"
    assert hard_coded_size(ctx, "two_d", message, ("timeout",)) == ""
    assert hard_coded_size(ctx, "two_d", "raised ValueError: shapes (3,) (2,)", ("crashed",)) != ""


def test_a_missing_function_is_reported_in_the_students_own_file_name(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("import numpy as np\n")
    result = _check_json(tmp_path / "empty.py", "-a", "softmax")
    assert "not defined in empty.py" in result["checks"][0]["message"]


def test_a_wrong_shape_message_reads_as_a_sentence() -> None:
    result = _check_json(SOFTMAX_SAMPLES / "wrong-shape" / "softmax.py", "-a", "softmax")
    check = next(c for c in result["checks"] if c["id"] == "log_partition_grad.value")
    assert "log_partition_grad returned a numpy.ndarray of shape (1, 4); expected shape (4,)" in check["message"]


def test_a_starter_that_returns_zeros_is_not_implemented_on_every_check() -> None:
    """CS231n's starter returns loss 0.0 and dW = 0: every check says so, instead of a
    relative error of 1 and a term decomposition with every coefficient 0."""
    starter = Path(__file__).resolve().parents[1] / "assignments" / "cs231n-softmax" / "samples" / "starter"
    result = _check_json(starter, "-a", "cs231n-softmax")
    for check in result["checks"]:
        assert check["mistakes"] == ["not-implemented"], check["id"]
        assert "× 0" not in check["message"], check["id"]


# --- every check kind at once, in process --------------------------------------------------------
# Each graded sample of the softmax and gmm courses, run through the real checks with the fake
# caller, names exactly the mistakes and failing functions its EXPECTED.toml lists
# (test_assignments_softmax.py and test_assignments_gmm.py grade the same samples through the sandbox).
COURSES = {name: Course(load_assignment(name)) for name in ("softmax", "gmm")}


def samples() -> list[tuple[str, str]]:
    out = []
    for name, course in COURSES.items():
        expected = tomllib.loads((course.assignment.root / "samples" / "EXPECTED.toml").read_text(encoding="utf-8"))
        out += [(name, sample) for sample, e in expected.items() if e["status"] == "graded"]
    return out


def graded_file(course: Course, sample: str) -> Path:
    folder = course.assignment.root / "samples" / sample
    return folder / course.assignment.filename if folder.is_dir() else folder.with_name(sample + ".py")


@pytest.mark.parametrize(("name", "sample"), samples())
def test_a_sample_names_its_expected_mistakes_in_process(name: str, sample: str) -> None:
    course = COURSES[name]
    expected = tomllib.loads((course.assignment.root / "samples" / "EXPECTED.toml").read_text(encoding="utf-8"))[sample]
    caller = caller_for(course, graded_file(course, sample))
    results = [run_on(course, check.id, caller) for check in course.assignment.checks]
    failing = {r.function for r in results if not r.passed}
    assert sorted({m for r in results for m in r.mistakes}) == sorted(expected["mistakes"])
    assert failing == set(expected["failing_functions"])
    assert all(r.passed for r in results) == expected["full_marks"]


def test_a_functions_problem_is_worked_out_once_per_load_report(softmax_course):
    """CheckContext.function_problem is asked before every call (#17): it keeps its
    answer for the load report it was worked out from, and looks again at another."""
    caller = caller_for(softmax_course)
    ctx = CheckContext(softmax_course, caller)
    assert ctx.function_problem("softmax") is None
    # The same report, changed in place, is not read again: the memo is what is tested.
    caller.load.functions["softmax"] = {"defined": False}
    assert ctx.function_problem("softmax") is None
    # Another report (a session that loaded again): read afresh, and kept in turn.
    caller.load = dataclasses.replace(caller.load, functions={**caller.load.functions})
    missing = ctx.function_problem("softmax")
    assert missing is not None and missing.mistakes == ("not-implemented",) and "not defined" in missing.message
    assert ctx.function_problem("softmax") is missing
