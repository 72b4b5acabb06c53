"""The gradient check kinds (gradgrader/checks/gradients.py) with a fake caller: the
course's reference runs in this process, with a classic mistake planted.

self_consistency (the gradient is the derivative of the student's own loss) and
objective_gradient (the gradient against finite differences of the course's
objective, a hook or a function of the assignment).
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import LOGISTIC_FD
from fakecaller import FakeCaller, caller_for, load_module, run_on

from gradgrader.assignment import load_assignment
from gradgrader.authoring import validate
from gradgrader.checks import run_check
from gradgrader.checks.context import CheckContext
from gradgrader.checks.prepared import Course
from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.rubric import resolve_rubric
from gradgrader.spec import CheckSpec


@pytest.fixture(scope="module")
def softmax() -> Course:
    return Course(load_assignment("softmax"))


@pytest.fixture(scope="module")
def gmm() -> Course:
    return Course(load_assignment("gmm"))


@pytest.fixture(scope="module")
def ref(softmax: Course) -> Any:
    return load_module(softmax.assignment.reference_path)


@pytest.fixture(scope="module")
def gmm_ref(gmm: Course) -> Any:
    return load_module(gmm.assignment.reference_path)


CHECK = "softmax_loss.self_consistency"

# ----------------------------------------------------------------- self_consistency


def test_self_consistency_passes_the_reference(softmax: Course) -> None:
    result = run_on(softmax, CHECK, caller_for(softmax))
    assert result.passed and result.fraction == 1.0 and "derivative of your own loss" in result.message


def test_a_loss_and_gradient_that_do_not_belong_together_are_named(softmax: Course, ref: Any) -> None:
    """reg·ΣW² in the loss, reg·W in the gradient: the gradient is right, the loss is not."""

    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return loss + 0.5 * reg * float(np.sum(W * W)), dW

    result = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss))
    assert not result.passed and result.mistakes == ("loss-gradient-mismatch",)
    assert "your loss is the part to fix" in (result.finding.summary if result.finding else "")


def test_a_wrong_gradient_of_a_right_loss_is_diagnosed(softmax: Course, ref: Any) -> None:
    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return loss, -dW

    result = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss))
    assert not result.passed and result.mistakes == ("sign-flipped",)
    assert "is not the gradient of your own loss" in result.message


def test_a_consistent_pair_that_ignores_the_data_is_no_answer(softmax: Course) -> None:
    """½‖W‖² with its gradient W is self-consistent, and not a softmax loss."""
    result = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=lambda W, X, y, reg: (0.5 * float(np.sum(W * W)), W)))
    assert not result.passed and result.mistakes == ("ignores-input",)


def test_self_consistency_names_a_gradient_with_nan(softmax: Course, ref: Any) -> None:
    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        dW = dW.copy()
        dW[0, 0] = np.nan
        return loss, dW

    result = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss))
    assert not result.passed and result.mistakes == ("nan-output",)


def test_self_consistency_asks_for_the_difference_points_in_few_requests(softmax: Course) -> None:
    """A case's finite-difference points in one request (not one per point), and the
    fresh draws of all cases in one more (#17): a case's points are asked before the
    next case's, so that a hang on one case never keeps another from its verdict."""
    caller = caller_for(softmax)
    run_on(softmax, "softmax_loss.loss", caller)  # the plain calls (grading prefetches them)
    before = caller.requests
    run_on(softmax, CHECK, caller)
    assert caller.requests - before == len(softmax.assignment.check(CHECK).cases) + 1


# ------------------------------------------- self_consistency's two-point shortcut (#17)


def _steps_asked(course: Course, caller: FakeCaller, calls: list[np.ndarray]) -> dict[str, list[float]]:
    """The distances from each case's W of the points self_consistency asked, by case
    (recorded by ``calls``), rounded to tell the steps apart."""
    by_case: dict[str, list[float]] = {}
    run_on(course, CHECK, caller)
    for case in course.assignment.check(CHECK).cases:
        W = np.asarray(course.inputs("softmax_loss", case)["W"], dtype=np.float64)
        by_case[case] = sorted(float(f"{np.linalg.norm(x - W):.6g}") for x in calls if x.shape == W.shape and 0 < np.linalg.norm(x - W) < 1)
    return by_case


def _recording(course: Course, softmax_loss: Any) -> tuple[FakeCaller, list[np.ndarray]]:
    calls: list[np.ndarray] = []

    def recorded(W, X, y, reg):
        calls.append(np.array(W, dtype=np.float64))
        return softmax_loss(W, X, y, reg)

    caller = caller_for(course, softmax_loss=recorded)
    run_on(course, "softmax_loss.loss", caller)  # the plain calls (grading prefetches them)
    calls.clear()
    return caller, calls


def _steps(course: Course, case: str) -> tuple[float, float]:
    from gradgrader.checks.gradients import PRECISE_STEP, STUDENT_STEP, difference_step

    W = np.asarray(course.inputs("softmax_loss", case)["W"], dtype=np.float64)
    return float(f"{difference_step(PRECISE_STEP, W):.6g}"), float(f"{difference_step(STUDENT_STEP, W):.6g}")


def test_float64_code_is_checked_with_two_points_per_direction(softmax: Course, ref: Any) -> None:
    """The reference's loss is float64 code: 10 directions × 2 points at the small step
    per case, none of the four-point stencil's 40 (half the calls)."""
    caller, calls = _recording(softmax, ref.softmax_loss)
    for case, distances in _steps_asked(softmax, caller, calls).items():
        precise, _ = _steps(softmax, case)
        assert distances == [precise] * 20, case


def test_float32_code_is_checked_with_the_four_point_stencil(softmax: Course, ref: Any) -> None:
    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W.astype(np.float32), X.astype(np.float32), y, np.float32(reg))
        return float(loss), dW  # a float32 number, even as a Python float

    caller, calls = _recording(softmax, softmax_loss)
    for case, distances in _steps_asked(softmax, caller, calls).items():
        _, h = _steps(softmax, case)
        assert distances == sorted([h] * 20 + [float(f"{2 * h:.6g}")] * 20), case


def _without_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradgrader.checks.gradients as gradients

    monkeypatch.setattr(gradients, "_float64_code", lambda got, ref: False)


def _verdict(result: Any) -> tuple[Any, ...]:
    return result.passed, result.fraction, result.mistakes, result.message, [(c.case, c.passed, c.message, c.mistakes) for c in result.cases]


def test_a_clearly_wrong_gradient_of_float64_code_is_named_from_two_points(
    softmax: Course, ref: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """−dW disagrees by 2 (relative): no need for the stencil, and the same verdict."""

    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return loss, -dW

    caller, calls = _recording(softmax, softmax_loss)
    for case, distances in _steps_asked(softmax, caller, calls).items():
        assert distances == [_steps(softmax, case)[0]] * 20, case
    shortcut = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss))
    _without_shortcut(monkeypatch)
    assert _verdict(shortcut) == _verdict(run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss)))
    assert shortcut.mistakes == ("sign-flipped",)


@pytest.mark.parametrize(("off", "passes"), [(5e-4, True), (1e-2, False)])
def test_between_the_thresholds_the_four_point_stencil_decides(
    softmax: Course, ref: Any, monkeypatch: pytest.MonkeyPatch, off: float, passes: bool
) -> None:
    """A gradient off by 0.05 % or 1 % (relative) is neither clearly consistent nor
    clearly not: the stencil's points are asked too, and its verdict — message and
    figures included — is the one given without the shortcut (within the tolerance,
    0.1 %, and beyond it)."""

    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return loss, dW * (1.0 + off)

    caller, calls = _recording(softmax, softmax_loss)
    before = caller.requests
    for case, distances in _steps_asked(softmax, caller, calls).items():
        precise, h = _steps(softmax, case)
        assert distances == sorted([precise] * 20 + [h] * 20 + [float(f"{2 * h:.6g}")] * 20), case
    # Two requests per case (the shortcut's points, then the stencil's), and the
    # real-answer draws of the agreeing cases in one more.
    assert caller.requests - before == 2 * len(softmax.assignment.check(CHECK).cases) + passes
    shortcut = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss))
    _without_shortcut(monkeypatch)
    assert _verdict(shortcut) == _verdict(run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss)))
    assert shortcut.passed is passes


def test_the_float64_gate_reads_the_loss_value() -> None:
    from gradgrader.checks.gradients import _float64_code

    exact = 2.302585092994046
    assert _float64_code(exact * (1 + 3e-11), exact)
    assert not _float64_code(exact * (1 + 3e-10), exact)  # float64 code off by more: the stencil
    assert not _float64_code(float(np.float32(exact)), exact)  # float32 code, converted
    assert not _float64_code(np.float32(exact), exact)
    assert not _float64_code(float("nan"), exact) and not _float64_code(0.0, 0.0)
    single = float(np.float32(exact))  # a float32 number that is also the reference's value
    assert not _float64_code(single, single) and _float64_code(single * (1 + 2**-40), single)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning in a TA's terminal
        assert _float64_code(1e300, 1e300)


class _Stopping(FakeCaller):
    """The fake caller with the sandbox's time-outs (gradgrader/sandbox/session.py): a
    call of ``softmax_loss`` at a W that ``hangs(W)`` says is stopped at its limit, the
    calls after it in its batch are not run, and a later batch runs none of the
    function's calls; every outcome of a batch is remembered."""

    def __init__(self, course: Course, softmax_loss: Any, hangs: Any) -> None:
        super().__init__({"softmax_loss": softmax_loss}, course.assignment)
        self.hangs, self.timeouts, self.stopped = hangs, 0, None

    def call_many(self, function, arg_lists, outputs, timeout, want=None):  # noqa: ANN001, ANN201
        from gradgrader.callkey import call_key
        from gradgrader.checks.inprocess import InProcessProblem

        suffix = "" if not want or set(want) >= set(outputs) else "|" + ",".join(sorted(want))
        keys = [call_key(function, args) + suffix for args in arg_lists]
        if self.stopped is not None:
            never = InProcessProblem("timeout", f"not run: {function} timed out earlier ({self.stopped.message})")
            return [self._memo.get(k, never) for k in keys]
        for k, args in zip(keys, arg_lists):
            if k in self._memo:
                continue
            if self.stopped is not None:
                self._memo[k] = InProcessProblem("timeout", f"not run: an earlier call of {function} failed ({self.stopped.message})")
            elif self.hangs(np.asarray(args[0])):
                self.timeouts += 1
                self.stopped = self._memo[k] = InProcessProblem("timeout", "did not return within 3 s; stopped")
            else:
                self._memo[k] = super().call_many(function, [args], outputs, timeout, want)[0]
        return [self._memo[k] for k in keys]


def test_a_hang_on_one_case_keeps_the_other_case_its_verdict(softmax: Course, ref: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gradient off by 0.05 % (the stencil decides) and a loss that hangs near medium's
    W but not at it: small is graded by its stencil, medium times out once — as without
    the shortcut. (Both cases' shortcut points asked first, in one batch, made small's
    stencil "not run".)"""
    medium = np.asarray(softmax.inputs("softmax_loss", "medium")["W"], dtype=np.float64)

    def softmax_loss(W, X, y, reg):
        loss, dW = ref.softmax_loss(W, X, y, reg)
        return loss, dW * (1.0 + 5e-4)

    def hangs(W: np.ndarray) -> bool:
        return W.shape == medium.shape and 1e-4 < np.linalg.norm(W - medium) < 0.2

    def graded() -> tuple[Any, int]:
        caller = _Stopping(softmax, softmax_loss, hangs)
        return run_on(softmax, CHECK, caller), caller.timeouts

    (result, timeouts) = graded()
    assert timeouts == 1
    assert [(c.case, c.passed, c.mistakes) for c in result.cases] == [("small", True, ()), ("medium", False, ("timeout",))]
    _without_shortcut(monkeypatch)
    assert (_verdict(result), timeouts) == (lambda r: (_verdict(r[0]), r[1]))(graded())


def test_a_loss_that_fails_only_at_the_shortcut_points_is_judged_by_the_stencil(
    softmax: Course, ref: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut's failures are not verdicts: the stencil's points decide, as before."""
    W0 = {case: np.asarray(softmax.inputs("softmax_loss", case)["W"], dtype=np.float64) for case in softmax.assignment.check(CHECK).cases}

    def softmax_loss(W, X, y, reg):
        if any(W.shape == w.shape and 0 < np.linalg.norm(W - w) < 0.01 for w in W0.values()):
            raise ValueError("only near W")
        return ref.softmax_loss(W, X, y, reg)

    shortcut = run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss))
    _without_shortcut(monkeypatch)
    assert _verdict(shortcut) == _verdict(run_on(softmax, CHECK, caller_for(softmax, softmax_loss=softmax_loss)))
    assert shortcut.passed


@pytest.mark.parametrize("params", [{"tol": 1e-5}, {"shortcut": False}])
def test_the_stencil_alone_below_the_shortcuts_reach_or_when_the_course_says_so(
    softmax: Course, ref: Any, params: dict[str, Any]
) -> None:
    """tol = 1e-5: the two estimates' difference (~6e-7) is no longer far below 0.9·tol;
    shortcut = false: a course whose loss is not smooth near the case (docs/checks.md)."""
    check = softmax.assignment.check(CHECK)
    strict = dataclasses.replace(check, params={**check.params, **params})
    calls: list[np.ndarray] = []

    def recorded(W, X, y, reg):
        calls.append(np.array(W, dtype=np.float64))
        return ref.softmax_loss(W, X, y, reg)

    caller = caller_for(softmax, softmax_loss=recorded)
    ctx = CheckContext(softmax, caller)
    run_on(softmax, "softmax_loss.loss", caller)
    calls.clear()
    assert run_check(strict, ctx).passed
    for case in check.cases:
        W = np.asarray(softmax.inputs("softmax_loss", case)["W"], dtype=np.float64)
        _, h = _steps(softmax, case)
        near = sorted(float(f"{np.linalg.norm(x - W):.6g}") for x in calls if x.shape == W.shape and 0 < np.linalg.norm(x - W) < 1)
        assert near == sorted([h] * 20 + [float(f"{2 * h:.6g}")] * 20), case


def test_a_shortcut_that_is_not_a_boolean_is_a_course_error(softmax: Course) -> None:
    """shortcut = "false" (a string) must not silently mean true."""
    check = softmax.assignment.check(CHECK)
    odd = dataclasses.replace(check, params={**check.params, "shortcut": "false"})
    with pytest.raises(ConfigError, match="shortcut must be true or false"):
        run_check(odd, CheckContext(softmax, caller_for(softmax)))


# The shortcut on and off give the same verdicts on every softmax sample of both courses
# (clipped scores and numerical gradients among them) under ordinary and hard course
# secrets (tests/test_checks_values.py), messages included: only the `error` figures of
# a settled case may differ.
@pytest.mark.parametrize("course_name", ["softmax", "cs231n-softmax"])
def test_the_shortcut_changes_no_verdict_on_any_sample_under_many_secrets(
    course_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradgrader.cases import with_secret

    base = load_assignment(course_name)
    secrets = ["ea1c05f2fcc9bedb", "c3fec92899ea5d39", "ce18fc68669cc01d"] + [f"course-secret-{i}" for i in range(5)]
    courses = [Course(with_secret(base, s)) for s in secrets]
    checks = [c.id for c in base.checks if c.kind == "self_consistency"]
    samples = sorted(p for p in (base.root / "samples").glob("*/*.py"))
    assert len(samples) >= 15

    def verdicts() -> list[tuple[Any, ...]]:
        found = []
        for path in samples:
            try:
                module = load_module(path)
            except BaseException:  # noqa: BLE001 - a sample that does not import (python 2 print)
                continue
            for course in courses:
                functions = {n: getattr(module, n) for n in course.assignment.functions if callable(getattr(module, n, None))}
                caller = FakeCaller(functions, course.assignment)
                for check in checks:
                    r = run_on(course, check, caller)
                    found.append((path.parent.name, check, r.passed, r.fraction, r.mistakes, r.message))
        return found

    shortcut = verdicts()
    _without_shortcut(monkeypatch)
    assert shortcut == verdicts()


@pytest.mark.parametrize("course_name", ["softmax", "cs231n-softmax"])
def test_the_two_point_differences_error_is_far_from_both_thresholds(course_name: str) -> None:
    """PRECISE_STEP's comment: correct float64 code's two-point differences are off by
    ~1e-7, 1000× below PRECISE_ACCEPT; correct float32 code that slipped past the gate
    would be off by ~2e-3 at most, far below PRECISE_REJECT (it would fall to the
    stencil, never be called inconsistent). Measured on each check's cases with 20 sets
    of directions."""
    from gradgrader.checks.gradients import (
        PRECISE_ACCEPT_FACTOR,
        PRECISE_REJECT_FACTOR,
        SELF_CONSISTENCY_TOL,
        _central,
        _precise_points,
        random_directions,
    )
    from gradgrader.findings import rel_error

    course = Course(load_assignment(course_name))
    reference = load_module(course.assignment.reference_path)
    for check in (c for c in course.assignment.checks if c.kind == "self_consistency"):
        f = getattr(reference, check.function)
        for kind, bound in ((np.float64, PRECISE_ACCEPT_FACTOR * SELF_CONSISTENCY_TOL / 100),
                            (np.float32, PRECISE_REJECT_FACTOR * SELF_CONSISTENCY_TOL / 20)):
            for case in check.cases:
                a = course.inputs(check.function, case)
                x0 = np.asarray(a["W"], dtype=np.float64)
                g = np.asarray(f(x0, a["X"], a["y"], a["reg"])[1], dtype=np.float64)
                for seed in range(20):
                    dirs = random_directions(np.random.default_rng(seed), x0.shape, 10)
                    h, points = _precise_points(x0, dirs)
                    values = [float(f(p.astype(kind), a["X"].astype(kind), a["y"], kind(a["reg"]))[0]) for p in points]
                    err = rel_error(np.array([np.vdot(g, v) for v in dirs]), _central(np.array(values).reshape(10, 2), h))
                    assert err <= bound, (check.id, kind.__name__, case, seed, err)


# ----------------------------------------------------------------- objective_gradient


@pytest.mark.parametrize("check", ["grad_logdet.finite_differences", "grad_quadform.finite_differences", "grad_mu.finite_differences"])
def test_objective_gradient_passes_the_reference(gmm: Course, check: str) -> None:
    result = run_on(gmm, check, caller_for(gmm))
    assert result.passed and "agrees with finite differences" in result.message


def test_objective_gradient_names_an_inverse_that_is_not_transposed(gmm: Course) -> None:
    result = run_on(gmm, "grad_logdet.finite_differences", caller_for(gmm, grad_logdet=lambda A: np.linalg.inv(A)))
    assert not result.passed and result.mistakes == ("inverse-not-transposed",)
    assert "is not the derivative of the objective" in result.message


def test_objective_gradient_names_a_sign_flip(gmm: Course, gmm_ref: Any) -> None:
    caller = caller_for(gmm, grad_mu=lambda X, q, mu, Sigma: -gmm_ref.grad_mu(X, q, mu, Sigma))
    result = run_on(gmm, "grad_mu.finite_differences", caller)
    assert not result.passed and result.mistakes == ("sign-flipped",)


def test_objective_gradient_against_a_function_of_the_assignment(softmax: Course, ref: Any) -> None:
    """``objective`` naming a graded function: its reference's ``loss`` is differentiated."""
    check = CheckSpec(
        "softmax_loss.fd", "softmax_loss", "objective_gradient", ("small", "medium"),
        {"objective": "softmax_loss", "objective_output": "loss", "output": "dW", "wrt": "W"},
    )
    assert set(check.cases) <= set(softmax.assignment.cases)

    def run(**functions: Any) -> Any:
        return run_check(check, CheckContext(softmax, caller_for(softmax, **functions)))

    assert run().passed
    halved = run(softmax_loss=lambda W, X, y, reg: (ref.softmax_loss(W, X, y, reg)[0], ref.softmax_loss(W, X, y, reg)[1] / 2))
    assert not halved.passed


def test_objective_gradient_differentiates_each_conventions_own_objective(tmp_path: Path, ref: Any) -> None:
    """The course's differences are made once per process (#17), but per convention: a
    submission graded against another reference file of the objective gets that file's
    differences, not those the first submission's convention made."""
    folder = tmp_path / "softmax"
    shutil.copytree(Path(load_assignment("softmax").root), folder, ignore=shutil.ignore_patterns("samples"))
    (folder / "double.py").write_text(
        "from reference import softmax_loss as _single\n\n"
        "def softmax_loss(W, X, y, reg):\n    loss, dW = _single(W, X, y, reg)\n    return 2 * loss, 2 * dW\n"
    )
    course = Course(load_assignment(folder))
    check = CheckSpec(
        "softmax_loss.fd", "softmax_loss", "objective_gradient", ("small", "medium"),
        {"objective": "softmax_loss", "objective_output": "loss", "output": "dW", "wrt": "W"},
    )
    doubled = {"softmax_loss": lambda W, X, y, reg: tuple(2 * v for v in ref.softmax_loss(W, X, y, reg))}
    single = run_check(check, CheckContext(course, caller_for(course)))
    double = run_check(check, CheckContext(course, caller_for(course, **doubled), reference_files={"softmax_loss": "double.py"}))
    assert single.passed and double.passed, (single.message, double.message)


def test_objective_gradient_calls_the_student_once_per_case(gmm: Course) -> None:
    """The differences are of the course's objective: the student is only asked for the gradient."""
    caller = caller_for(gmm)
    check = gmm.assignment.check("grad_logdet.finite_differences")
    run_on(gmm, check.id, caller)
    assert caller.calls == len(check.cases)


def test_self_consistency_on_a_pack_like_copy_keeps_its_verdicts(softmax: Course) -> None:
    """A check restricted to one case gives that case's verdict alone."""
    one = dataclasses.replace(softmax.assignment.check(CHECK), cases=("small",))
    assert run_check(one, CheckContext(softmax, caller_for(softmax))).fraction == 1.0


def test_a_loss_and_grad_function_is_checked_against_its_own_loss() -> None:
    spec = load_assignment(LOGISTIC_FD)
    assert validate(spec).ok  # the reference passes: before, its loss was taken for the gradient
    with Grader(spec, resolve_rubric(spec)) as grader:
        results = {r.submission: r.to_json() for r in grader.grade_all(discover(LOGISTIC_FD / "samples", spec.filename))}
    assert results["correct"]["score"] == results["correct"]["max_score"] == 5
    failing = {c["id"] for c in results["sign-flipped"]["checks"] if not c["passed"]}
    assert failing == {"loss_and_grad.finite_differences", "loss_and_grad.hook_differences"}
    assert results["sign-flipped"]["mistakes"] == ["sign-flipped"]


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "logistic-fd"
    shutil.copytree(LOGISTIC_FD, folder)
    toml = folder / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # several outputs and no `output`: the first (the loss) was silently taken
        ('objective_output = "loss"\noutput = "grad"\n', 'objective_output = "loss"\n', 'which one is the gradient with output = "NAME"'),
        ('objective_output = "loss"\n', "", 'say which one to differentiate with objective_output = "NAME"'),
        ('objective_output = "loss"\n', 'objective_output = "grad"\n', "has shape ['D']; it must be one number"),
        ('objective_output = "loss"\n', 'objective_output = "cost"\n', "'cost' is not an output of loss_and_grad"),
        ('objective = "loss"\noutput', 'objective = "loss"\nobjective_output = "loss"\noutput', "is a hook"),
    ],
)
def test_unclear_objective_options_are_refused_with_a_reason(tmp_path: Path, old: str, new: str, said: str) -> None:
    with pytest.raises(ConfigError, match="loss_and_grad") as info:
        load_assignment(_edited(tmp_path, old, new))
    assert said in str(info.value)


# ---------------------------------------------------------------- the student step, measured


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_the_student_step_keeps_a_correct_gradients_error_far_below_the_tolerance(
    softmax: Course, ref: Any, precision: str
) -> None:
    """STUDENT_STEP's comment (gradgrader/checks/gradients.py) predicts the differences'
    error for correct code: ~1e-7 relative in float64 (truncation), ~3e-6 in float32
    (rounding); SELF_CONSISTENCY_TOL is set 100× above the float32 figure. Measured on
    the check's own cases, directions and step."""
    from gradgrader.checks.gradients import (
        SELF_CONSISTENCY_TOL,
        STUDENT_STEP,
        difference_step,
        directional_differences,
        random_directions,
    )
    from gradgrader.findings import rel_error

    kind = np.dtype(precision)

    def loss_and_grad(W: np.ndarray, a: dict[str, Any]) -> tuple[float, np.ndarray]:
        loss, dW = ref.softmax_loss(W.astype(kind), a["X"].astype(kind), a["y"], kind.type(a["reg"]))
        return float(loss), np.asarray(dW, dtype=np.float64)

    check = softmax.assignment.check("softmax_loss.self_consistency")
    for case in check.cases:
        a = softmax.inputs("softmax_loss", case)
        x0 = np.asarray(a["W"], dtype=np.float64)
        dirs = random_directions(np.random.default_rng(0), x0.shape, 10)
        fd = directional_differences(lambda xs, a=a: [loss_and_grad(x, a)[0] for x in xs], x0, dirs, difference_step(STUDENT_STEP, x0))
        g = loss_and_grad(x0, a)[1]
        err = rel_error(np.array([np.vdot(g, v) for v in dirs]), fd)
        assert err <= (1e-7 if precision == "float64" else 1e-5), (case, err)
        assert err * 100 <= SELF_CONSISTENCY_TOL


def test_the_step_and_directions_have_the_same_bits_whatever_the_order_of_the_sum() -> None:
    """The difference points decide which recorded course values a student pack looks up,
    by their exact bits. np.linalg.norm's BLAS dot gave a 5 × 5 case's norm one bit apart
    for a C- and a Fortran-ordered copy (and across machines), so a pack missed the
    course's log det at every point of that case. The sum of squares is now the exact sum
    rounded once: this vector loses its small squares in any sum that adds them to a large one first."""
    import math
    from fractions import Fraction

    from gradgrader.checks.gradients import (
        REFERENCE_STEP,
        difference_step,
        random_directions,
        sum_of_squares,
    )

    x = np.full(1 << 12, 2.0**-21)
    x[::97] = 64.0  # squares of 2¹² among squares of 2⁻⁴², an RMS above 1 (the step scales with it)
    exact = sum(Fraction(float(v)) ** 2 for v in x)
    assert sum_of_squares(x) == float(exact) != float(np.sum(x * x))
    grid = x.reshape(64, 64)
    steps = {difference_step(REFERENCE_STEP, a) for a in (grid, np.asfortranarray(grid), grid.T.copy().T, grid[:, ::-1][:, ::-1])}
    assert steps == {REFERENCE_STEP * math.sqrt(float(exact)) / math.sqrt(x.size)}  # np.linalg.norm: 12 ulps below
    for shape in [(5, 5), (3, 7)]:
        first, second = (random_directions(np.random.default_rng(4), shape, 6, symmetric=shape[0] == shape[1]) for _ in range(2))
        assert first.tobytes() == second.tobytes()
        norms = [float(Fraction(sum(Fraction(float(v)) ** 2 for v in d.ravel()))) for d in first]
        assert all(abs(n - 1.0) <= 4 * np.finfo(float).eps for n in norms)


def _near_singular() -> np.ndarray:
    """A 3 × 3 matrix like the one gmm's 'small' case drew under one course secret in a
    few thousand: σ = (5.58, 3.92, 0.011), an RMS entry of 2.3."""
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    return U @ np.diag([5.58, 3.92, 0.011]) @ V.T


def test_the_courses_differences_resolve_a_near_singular_log_det() -> None:
    """At the base step the fourth-order differences of log det A are off by 2.4e-5 there
    (truncation ∝ (h/σ_min)⁴), above the 1e-5 tolerance: a correct A⁻ᵀ lost the check.
    The refined steps (course_differences) keep the one that resolves it; on a
    well-conditioned matrix they stay as accurate as the base step (~1e-12)."""
    from gradgrader.checks.gradients import (
        DIRECTIONS,
        OBJECTIVE_TOL,
        REFERENCE_STEP,
        course_differences,
        difference_step,
        directional_differences,
        random_directions,
    )
    from gradgrader.findings import rel_error

    def logdet(xs: list[np.ndarray]) -> list[float]:
        return [float(np.linalg.slogdet(x)[1]) for x in xs]

    well = np.random.default_rng(1).standard_normal((5, 5)) + 5 * np.eye(5)
    for A, base_error in [(_near_singular(), OBJECTIVE_TOL), (well, 1e-10)]:
        dirs = random_directions(np.random.default_rng(0), A.shape, DIRECTIONS)
        exact = np.array([np.vdot(np.linalg.inv(A).T, v) for v in dirs])
        h = difference_step(REFERENCE_STEP, A)
        base = rel_error(exact, directional_differences(logdet, A, dirs, h))
        assert (base > base_error) if base_error == OBJECTIVE_TOL else (base < base_error)
        assert rel_error(exact, course_differences(logdet, A, dirs, h)) < 1e-10


def test_a_correct_gmm_keeps_full_marks_when_a_case_is_near_singular() -> None:
    """The course secret under which gmm's 'small' case drew that matrix: the correct
    sample lost grad_logdet.finite_differences on it (9.875 of 10, found by grading the
    correct sample under 20,000 random secrets); a sample with A⁻¹ for A⁻ᵀ still loses
    the check there, with its mistake named."""
    from gradgrader.loading import open_grader
    from gradgrader.submission import Submission

    samples = Path(__file__).resolve().parents[1] / "assignments" / "gmm" / "samples"
    with open_grader("gmm", secret="e7f49ebb256ccc864e4cfb5fdac0f3ea", allow_weak=True) as grader:
        A = np.asarray(grader.course.inputs("grad_logdet", "small")["A"])
        s = np.linalg.svd(A, compute_uv=False)
        assert s[-1] < 0.02 < 2 < np.sqrt(np.mean(A * A))  # the draw this test is about
        correct = grader.grade(Submission("correct", samples / "correct-vectorized" / "gmm.py", None))
        wrong = grader.grade(Submission("wrong", samples / "inverse-not-transposed" / "gmm.py", None))
    assert correct.score == correct.max_score, [c.message for c in correct.checks if not c.passed]
    (fd,) = [c for c in wrong.checks if c.id == "grad_logdet.finite_differences"]
    assert not fd.passed and "inverse-not-transposed" in fd.mistakes
