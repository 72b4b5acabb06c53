"""Finite-difference checks whose cost does not grow with the number of parameters.

A gradient g of f at x is checked along ``n`` random unit directions v (Frobenius
norm 1, seeded by the check and the case, so hidden and reproducible) by comparing
``⟨g, v⟩`` with the fourth-order central difference

    D_h f(x; v) = [8 (f(x + h v) − f(x − h v)) − (f(x + 2h v) − f(x − 2h v))] / (12 h),

whose error is O(h⁴ f⁽⁵⁾) from truncation plus O(ε |f| / h) from rounding. 4·n calls
of f, whatever the size of x: a CS231n-size W (10 × 3073) costs the same as a 3 × 4 one.
``self_consistency`` first tries 2·n calls, a central difference at a small step, on a
student's loss that is float64 code (PRECISE_STEP).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradgrader.checks.base import (
    CaseResult,
    CheckContext,
    CheckResult,
    Failure,
    Finding,
    case_label,
    explained,
    rel_error,
    summarise,
)
from gradgrader.checks.registry import check_kind
from gradgrader.checks.values import (
    degenerate_case,
    failure_case,
    nonfinite_case,
    on_cases,
    output_label,
    placeholder_case,
)
from gradgrader.diagnose import diagnose
from gradgrader.errors import ConfigError
from gradgrader.spec import Assignment, CheckSpec

DIRECTIONS = 10

# Step for the student's own objective. The student may compute in float32 (ε ≈ 1.2e-7),
# so h balances truncation against float32 rounding: h = ε₃₂^(1/5) ≈ 0.04 minimises
# h⁴ + ε/h. With the loss and its derivatives O(1) (unit directions, standardised
# inputs) the error is ≈ ε₃₂^(4/5) ≈ 3e-6 relative for float32 code and ~1e-7 (pure
# truncation) for float64 code; tests/test_checks_gradients.py measures both.
STUDENT_STEP = float(np.finfo(np.float32).eps) ** 0.2
# Agreement required between ⟨g, v⟩ and the differences: 100× above the float32 error
# above, and still 300× below the smallest inconsistency we must catch (a loss with
# reg·‖W‖² against a gradient with reg·W differs by ≈ 0.3 relative at reg = 0.1).
SELF_CONSISTENCY_TOL = 1e-3

# A check in two steps (#17). Where the student's loss at a case agrees with the
# reference's to PRECISE_MATCH (relative) and is not a float32 number, it is float64
# code, rounding to ~ε₆₄|f|: a central difference at PRECISE_STEP (scaled like
# STUDENT_STEP) then has a rounding error ~ε₆₄|f|/h ≈ 2e-13|f| and a truncation error
# h²/6·f''' ≈ 1.7e-7 of an O(1) derivative — as accurate as the four-point stencil
# (measured on the shipped cases: ≤ 1.3e-7, and within 6.3e-7 of the stencil's estimate).
# Its two points per direction (half the stencil's calls) settle the case when they are
# clear: consistent when they agree to PRECISE_ACCEPT_FACTOR·tol, ~1000× above that error,
# inconsistent when they disagree by max(PRECISE_REJECT, PRECISE_REJECT_FACTOR·tol). A
# float32 loss that passed the gate by chance (a float32 rounding within 1e-10: ~1 in
# 1,000) has a rounding error ε₃₂|f|/h ≈ 1.2e-4|f| at this step — measured ≤ 1.8e-3 of the
# directional derivatives on the shipped cases, 50× short of PRECISE_REJECT: it falls to
# the stencil. Between the two, the four-point stencil at STUDENT_STEP decides, as for any
# other code: the shortcut's verdict is the stencil's whenever the two estimates differ by
# less than 0.9·tol — for tol ≥ PRECISE_MIN_TOL, 140× the difference measured. A
# shortcut looks at the loss within h of the case, the stencil within 2·STUDENT_STEP: on a
# loss that is not smooth or not finite in between, they can tell apart what the other
# cannot (docs/checks.md). tests/test_checks_gradients.py measures all of it.
PRECISE_MATCH = 1e-10
PRECISE_STEP = 1e-3
PRECISE_ACCEPT_FACTOR = 0.1  # × tol
PRECISE_REJECT_FACTOR = 100.0  # × tol
PRECISE_REJECT = 0.1  # and never below this
PRECISE_MIN_TOL = 1e-4  # a smaller tol: the stencil alone

# The course's objective is float64 code: h = ε₆₄^(1/5) ≈ 7e-4 gives ≈ ε₆₄^(4/5) ≈ 3e-13
# when its derivatives are O(1) on the scale of the step. Near a singularity they are not:
# log det A with σ_min(A) = 0.011 and RMS(A) = 2.3 (a 3 × 3 case of gmm, one draw in a few
# thousand) has a fourth-order truncation error ∝ (h/σ_min)⁴ of 2.9e-5 at this step — a
# correct A⁻ᵀ failed the 1e-5 tolerance. So the course's differences are taken at
# REFINEMENTS steps, h·4⁻ᵏ, and the most accurate one kept (course_differences).
REFERENCE_STEP = float(np.finfo(np.float64).eps) ** 0.2
OBJECTIVE_TOL = 1e-5
# Steps h, h/4, h/16, h/64: each quarter step cuts the truncation error 256-fold, so the
# case above is at 1.1e-7 at h/4 and 4e-10 at h/16; the rounding error, ε|f|/h, grows to
# ~2e-11 of an O(1) derivative at h/64 — six orders of magnitude below the tolerance. The
# last step still resolves that case's log det to 1e-6 with σ_min 25 times smaller.
REFINEMENTS = 4


def random_directions(rng: np.random.Generator, shape: tuple[int, ...], n: int, symmetric: bool = False) -> np.ndarray:
    """``n`` random directions of ``shape`` with unit Frobenius norm (symmetric in the last
    two axes when asked: the feasible directions of a symmetric matrix such as Λ)."""
    v = rng.standard_normal((n, *shape))
    if symmetric:
        v = 0.5 * (v + np.swapaxes(v, -1, -2))
    norms = np.array([math.sqrt(sum_of_squares(row)) for row in v.reshape(n, -1)]).reshape((n,) + (1,) * len(shape))
    return v / norms


def sum_of_squares(x: np.ndarray) -> float:
    """Σ x², correctly rounded: the same bits on every machine.

    The directions and the step decide the points where the course's objective is
    evaluated, and a student pack finds its recorded values by those points' exact bits.
    BLAS's dot product (``np.linalg.norm``) adds in an order that depends on the CPU's
    kernel and on the array's memory order: a pack recorded on one machine missed the
    course's log det at every point of a 5 × 5 case on another (the norms differed in
    the last bit). Each square is one IEEE product and ``math.fsum`` rounds the exact sum
    once, so no order, kernel or numpy version changes the result."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    return math.fsum((flat * flat).tolist())


STENCIL = (1.0, -1.0, 2.0, -2.0)


def directional_differences(
    f: Callable[[list[np.ndarray]], list[float | Failure]], x: np.ndarray, directions: np.ndarray, h: float,
    points: list[np.ndarray] | None = None, stencil: Callable[[np.ndarray, float], np.ndarray] | None = None,
) -> np.ndarray | Failure:
    """The fourth-order central differences of ``f`` at ``x`` along each direction.

    ``f`` evaluates a list of points at once (one round trip to the sandbox);
    ``points``: :func:`difference_points` of the same arguments, if already made;
    ``stencil``: another formula for the values at ``points`` (:func:`_central`)."""
    values = f(difference_points(x, directions, h) if points is None else points)
    for fx in values:
        if isinstance(fx, Failure):
            return fx
    table = np.asarray(values, dtype=np.float64).reshape(len(directions), -1)
    return (stencil or _stencil)(table, h)


def _stencil(values: np.ndarray, h: float | np.ndarray) -> np.ndarray:
    """[8 (f(x + hv) − f(x − hv)) − (f(x + 2hv) − f(x − 2hv))] / (12h) from ``values``
    whose last axis holds f at the :data:`STENCIL` points, in its order."""
    f1, fm1, f2, fm2 = np.moveaxis(values, -1, 0)
    return (8.0 * (f1 - fm1) - (f2 - fm2)) / (12.0 * h)


def _central(values: np.ndarray, h: float) -> np.ndarray:
    """[f(x + hv) − f(x − hv)] / (2h) from ``values`` whose last axis holds f at the
    :data:`CENTRAL` points, in its order."""
    f1, fm1 = np.moveaxis(values, -1, 0)
    return (f1 - fm1) / (2.0 * h)


CENTRAL = (1.0, -1.0)  # the points of :func:`_central`


def difference_points(x: np.ndarray, directions: np.ndarray, h: float, stencil: tuple[float, ...] = STENCIL) -> list[np.ndarray]:
    """The points :func:`directional_differences` evaluates, in its order: x + k·h·v
    for each direction v and each k of ``stencil``."""
    return [x + k * h * v for v in directions for k in stencil]


def course_differences(
    f: Callable[[list[np.ndarray]], list[float]], x: np.ndarray, directions: np.ndarray, h: float
) -> np.ndarray:
    """Differences of the course's own (float64) objective along each direction, at the
    most accurate of the steps ``h·4⁻ᵏ``, k < :data:`REFINEMENTS` (all asked in one batch,
    always the same points: a student pack records them all).

    Each step's error is estimated by its distance to the next, whose truncation error is
    256 times smaller (Richardson): while truncation dominates the estimates fall, once
    rounding does they rise; the step after the smallest estimate is kept — its error is
    at most that estimate. For a well-conditioned objective every step is far inside the
    tolerance and this keeps h/4 (~1e-12); near a singularity it keeps the step that
    resolves it (see REFERENCE_STEP)."""
    steps = [h / 4.0**k for k in range(REFINEMENTS)]
    points = [p for step in steps for p in difference_points(x, directions, step)]
    values = np.asarray(f(points), dtype=np.float64).reshape(REFINEMENTS, len(directions), len(STENCIL))
    levels = _stencil(values, np.asarray(steps)[:, None])
    estimates = [rel_error(levels[k], levels[k + 1]) for k in range(REFINEMENTS - 1)]
    return levels[int(np.argmin(estimates)) + 1]


def difference_step(base: float, x: np.ndarray) -> float:
    """Scale the step with the typical entry of x (its RMS), never below ``base``; the
    same bits on every machine (:func:`sum_of_squares`). Course hooks that take finite
    differences of their own use it too (gmm's ``grad_precision``)."""
    return base * max(1.0, math.sqrt(sum_of_squares(x)) / math.sqrt(max(x.size, 1)))


@dataclass(frozen=True)
class _Differences:
    """A case of ``self_consistency`` that gets as far as the finite differences."""

    args: Mapping[str, Any]
    dims: Mapping[str, int]
    got: dict[str, np.ndarray]
    x0: np.ndarray
    dirs: np.ndarray
    h: float
    points: list[np.ndarray]  # difference_points(x0, dirs, h), shared by every submission
    # The two-point shortcut's step and points when the student's loss is float64 code
    # (PRECISE_MATCH), else None: the four-point stencil alone.
    precise: tuple[float, list[np.ndarray]] | None = None


@check_kind("self_consistency", params={"directions", "tol", "shortcut"}, required={"objective", "gradient", "wrt"})
def self_consistency(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The returned gradient is the derivative of the student's own objective."""
    obj, grad = check.params["objective"], check.params["gradient"]
    tol = float(check.params.get("tol", SELF_CONSISTENCY_TOL))
    fn = check.function
    shortcut = check.params.get("shortcut", True)
    if not isinstance(shortcut, bool):
        raise ConfigError(f"check {check.id!r}: shortcut must be true or false, not {shortcut!r}")
    shortcut = shortcut and tol >= PRECISE_MIN_TOL
    plans = {case: _difference_plan(check, ctx, case, shortcut) for case in check.cases}
    diffs = {case: _case_differences(check, ctx, p, tol) for case, p in plans.items() if isinstance(p, _Differences)}
    agree = [case for case, (fd, err) in diffs.items() if not isinstance(fd, Failure) and err <= tol]
    ctx.prefetch_fresh_draws(fn, agree, [obj, grad])  # the real-answer test of every agreeing case, at once
    results: list[CaseResult] = []
    for case, plan in plans.items():
        if not isinstance(plan, _Differences):
            results.append(plan)
            continue
        fd, err = diffs[case]
        if isinstance(fd, Failure):
            results.append(failure_case(ctx, check, case, fd, plan.args, None))
        elif err <= tol:
            # Consistent, but that pays only for a real answer (not 0.5‖W‖² with its W).
            real = degenerate_case(ctx, check, case, plan.args, [obj, grad], f"that {grad} is the derivative of your own {obj}")
            results.append(real or CaseResult(case, True, err))
        else:
            results.append(_inconsistent(check, ctx, case, plan, err))
    return summarise(check, results, on_cases(f"the returned {grad} is the derivative of your own {obj}"))


def _case_differences(check: CheckSpec, ctx: CheckContext, plan: _Differences, tol: float) -> tuple[np.ndarray | Failure, float]:
    """A case's differences and their error: the two-point shortcut's when it is clear,
    else the four-point stencil's (#17); each set of points in one round trip. Case by
    case, each case's calls before the next case's, as with the stencil alone: a hang or
    a crash on one case never keeps another from its stencil."""
    if plan.precise is not None:
        fd, err = _student_differences(check, ctx, plan, *plan.precise, stencil=_central)
        if isinstance(fd, Failure):
            if "timeout" in fd.mistakes:
                # The function is stopped (one time-out per hang, or the submission's time
                # budget is spent): the stencil could not be called; this is the verdict.
                return fd, err
        elif err <= PRECISE_ACCEPT_FACTOR * tol or err >= max(PRECISE_REJECT, PRECISE_REJECT_FACTOR * tol):
            return fd, err
    return _student_differences(check, ctx, plan, plan.h, plan.points)


def _difference_plan(check: CheckSpec, ctx: CheckContext, case: str, shortcut: bool) -> _Differences | CaseResult:
    """What ``self_consistency`` will differentiate on ``case``, or the case's result
    when the student's answer already fails (no answer, NaN, a placeholder)."""
    obj, grad, wrt = check.params["objective"], check.params["gradient"], check.params["wrt"]
    fn = check.function
    args = ctx.inputs(fn, case)
    dims = ctx.course.dims(case)
    got = ctx.student(fn, args, dims)
    if isinstance(got, Failure):
        return failure_case(ctx, check, case, got, args, None)
    if not np.all(np.isfinite(got[grad])):
        return nonfinite_case(ctx, check, case, grad, got[grad], args, "nan-output")
    placeholder = placeholder_case(ctx, check, case, args, got, [obj, grad], ctx.reference(fn, args), ctx.assignment.rtol)
    if placeholder is not None:
        return placeholder
    x0, dirs, h, points = ctx.course.derived(("self_consistency", check.id, case), lambda: _points(check, ctx, case, args[wrt]))
    precise = None
    if shortcut and _float64_code(got[obj], ctx.reference(fn, args)[obj]):
        precise = ctx.course.derived(("self_consistency", check.id, case, "precise"), lambda: _precise_points(x0, dirs))
    return _Differences(args, dims, got, x0, dirs, h, points, precise)


def _float64_code(got: Any, ref: Any) -> bool:
    """Whether a loss is float64 code's by its value at a case: within PRECISE_MATCH
    of the reference's, and not a float32 number (float32 code's loss, returned as it is
    or converted, is one)."""
    value, exact = float(np.asarray(got)), float(np.asarray(ref))
    if not (math.isfinite(value) and math.isfinite(exact)) or exact == 0.0:
        return False
    with np.errstate(over="ignore"):  # beyond float32's range: not a float32 number
        return abs(value - exact) <= PRECISE_MATCH * abs(exact) and float(np.float32(value)) != value


def _precise_points(x0: np.ndarray, dirs: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """The two-point shortcut's step and points along the same directions."""
    h = difference_step(PRECISE_STEP, x0)
    return h, difference_points(x0, dirs, h, CENTRAL)


def _points(check: CheckSpec, ctx: CheckContext, case: str, at: Any) -> tuple[np.ndarray, np.ndarray, float, list[np.ndarray]]:
    """The differences' base point, directions, step and points on ``case``: the course's
    input and the check's seed decide them, so every submission gets the same arrays."""
    x0 = np.asarray(at, dtype=np.float64)
    dirs = random_directions(ctx.rng(check.id, case), x0.shape, int(check.params.get("directions", DIRECTIONS)))
    h = difference_step(STUDENT_STEP, x0)
    return x0, dirs, h, difference_points(x0, dirs, h)


def _student_differences(
    check: CheckSpec, ctx: CheckContext, plan: _Differences, h: float, points: list[np.ndarray],
    stencil: Callable[[np.ndarray, float], np.ndarray] | None = None,
) -> tuple[np.ndarray | Failure, float]:
    """The differences of the student's own objective at ``points`` (step ``h``; the
    four-point stencil's unless ``stencil`` is given), and their relative error against
    ⟨gradient, v⟩ (inf when there are none)."""
    obj, grad, wrt = check.params["objective"], check.params["gradient"], check.params["wrt"]

    def objective(xs: list[np.ndarray]) -> list[float | Failure]:
        values: list[float | Failure] = []
        for out in ctx.student_many(check.function, [{**plan.args, wrt: x} for x in xs], plan.dims, need=[obj]):
            if isinstance(out, Failure):
                values.append(out)
            elif not np.isfinite(float(out[obj])):
                values.append(Failure(("nan-output",), f"{obj} is not finite at a point near {wrt}"))
            else:
                values.append(float(out[obj]))
        return values

    fd = directional_differences(objective, plan.x0, plan.dirs, h, points, stencil)
    if isinstance(fd, Failure):
        return fd, float("inf")
    return fd, rel_error(np.array([float(np.vdot(plan.got[grad], v)) for v in plan.dirs]), fd)


def _inconsistent(check: CheckSpec, ctx: CheckContext, case: str, plan: _Differences, err: float) -> CaseResult:
    """A case whose gradient disagrees with the differences of the student's own
    objective: a wrong gradient of a right loss is diagnosed, anything else is a
    loss and a gradient that do not belong together."""
    obj, grad = check.params["objective"], check.params["gradient"]
    fn, got, args = check.function, plan.got, plan.args
    n = len(plan.dirs)
    ref = ctx.reference(fn, args)
    grad_right = rel_error(got[grad], ref[grad]) <= ctx.assignment.rtol
    loss_right = rel_error(np.asarray(got[obj]), ref[obj]) <= ctx.assignment.rtol
    where = case_label(ctx, case, args)
    g_label, o_label = output_label(ctx, fn, grad), output_label(ctx, fn, obj)
    if loss_right and not grad_right:
        finding = diagnose(ctx, fn, grad, got[grad], ref[grad], args, plan.dims)
        message, mistakes = explained(
            f"{g_label} is not the gradient of your own {obj}: finite differences of {obj} along "
            f"{n} random directions disagree with ⟨{grad}, v⟩ by {err:.2g} (relative) on {where}",
            finding,
        )
        return CaseResult(case, False, err, message, mistakes, finding)
    finding = Finding(
        "loss-gradient-mismatch",
        f"{grad} does not match finite differences of your {obj}"
        + (" — your gradient is right, so your loss is the part to fix" if grad_right else ""),
    )
    message = (
        f"{g_label} and {o_label} do not belong together: ⟨{grad}, v⟩ and finite differences of your "
        f"{obj} differ by {err:.2g} (relative) on {where}"
        + (f"; {grad} matches the reference, so {obj} is computed differently from what {grad} differentiates" if grad_right else "")
    )
    return CaseResult(case, False, err, message, ("loss-gradient-mismatch",), finding)


def gradient_output(check: CheckSpec, fn_outputs: list[str]) -> str:
    """The output of the function that ``objective_gradient`` checks: ``output = "…"``,
    or the function's only output. A function returning several (``loss, grad``) must
    say which (taking the first silently checked the loss as if it were the gradient)."""
    chosen = check.params.get("output")
    if chosen is not None:
        return str(chosen)
    if len(fn_outputs) != 1:
        raise ConfigError(
            f"check {check.id!r}: {check.function} returns {', '.join(fn_outputs)}; "
            'say which one is the gradient with output = "NAME"'
        )
    return fn_outputs[0]


def objective_hook(assignment: Assignment, check: CheckSpec, where: str) -> str | None:
    """Check an ``objective_gradient``'s options; the hook it needs, or None when the
    objective is a function of the assignment (its reference is differentiated).

    ``objective`` names a hook of hooks.py returning one number, or a function of the
    assignment, such as the ``loss_and_grad`` being checked; when that function returns
    several outputs, ``objective_output = "loss"`` names the one to differentiate."""
    fn = assignment.functions[check.function]
    try:
        gradient_output(check, [o.name for o in fn.outputs])  # validate_check: it is an output
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).partition(': ')[2]}") from None
    objective = str(check.params["objective"])
    chosen = check.params.get("objective_output")
    target = assignment.functions.get(objective)
    if target is None:
        if chosen is not None:
            raise ConfigError(
                f"{where}: objective_output names an output of a function of the assignment, but {objective!r} is "
                "a hook (a hook returns the objective's value itself)"
            )
        return objective
    outputs = [o.name for o in target.outputs]
    if chosen is None and len(outputs) != 1:
        raise ConfigError(
            f"{where}: the objective {objective} returns {', '.join(outputs)}; say which one to differentiate "
            'with objective_output = "NAME"'
        )
    name = str(chosen) if chosen is not None else outputs[0]
    if name not in outputs:
        raise ConfigError(f"{where}: objective_output = {name!r} is not an output of {target.name} ({', '.join(outputs)})")
    shape = next(o.shape for o in target.outputs if o.name == name)
    if shape:
        raise ConfigError(f"{where}: the objective's output {name!r} has shape {list(shape)}; it must be one number")
    missing = [a for a in target.args if a not in fn.args]
    if missing:
        raise ConfigError(
            f"{where}: the objective {target.signature} needs {', '.join(missing)}, which {fn.signature} does not take"
        )
    if check.params["wrt"] not in target.args:
        raise ConfigError(f"{where}: wrt = {check.params['wrt']!r} is not an argument of the objective {target.signature}")
    return None


def _course_differences(
    check: CheckSpec, ctx: CheckContext, case: str, f: Callable[[list[np.ndarray]], list[float]],
    x0: np.ndarray, shape: tuple[int, ...], n: int, symmetric: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``objective_gradient``'s directions and the differences of the course's objective."""
    dirs = random_directions(ctx.rng(check.id, case), shape, n, symmetric)
    return dirs, course_differences(f, x0, dirs, difference_step(REFERENCE_STEP, x0))


@check_kind(
    "objective_gradient",
    params={"directions", "tol", "symmetric", "output", "objective_output"},
    required={"objective", "wrt"},
)
def objective_gradient(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The student's gradient against finite differences of the course's objective."""
    fn_spec = ctx.assignment.functions[check.function]
    objective = str(check.params["objective"])
    wrt = str(check.params["wrt"])
    grad = gradient_output(check, [o.name for o in fn_spec.outputs])
    target = ctx.assignment.functions.get(objective)
    picked = str(check.params.get("objective_output") or (target.outputs[0].name if target else ""))
    n = int(check.params.get("directions", DIRECTIONS))
    tol = float(check.params.get("tol", OBJECTIVE_TOL))
    symmetric = bool(check.params.get("symmetric", False))
    results: list[CaseResult] = []
    for case in check.cases:
        args = ctx.inputs(check.function, case)
        dims = ctx.course.dims(case)
        got = ctx.student(check.function, args, dims)
        ref = ctx.reference(check.function, args)
        if isinstance(got, Failure):
            results.append(failure_case(ctx, check, case, got, args, ref))
            continue
        g = got[grad]
        if not np.all(np.isfinite(g)):
            results.append(nonfinite_case(ctx, check, case, grad, g, args, "nan-output"))
            continue
        x0 = np.asarray(args[wrt], dtype=np.float64)

        def f(xs: list[np.ndarray], args: Mapping[str, Any] = args) -> list[float]:
            if target is not None:  # a function of the assignment: one output of its reference
                return [float(ctx.reference(objective, {**args, wrt: x})[picked]) for x in xs]
            where = f"check {check.id!r}"
            return [float(ctx.course.call_hook(objective, {**args, wrt: x}, where)) for x in xs]

        # The course's objective and inputs decide them: once per process, not per
        # submission (per convention, where the objective is a function the conventions
        # may compute differently).
        convention = str(ctx.reference_files.get(objective, ctx.reference_file)) if target is not None else "hook"
        dirs, fd = ctx.course.derived(
            ("objective_gradient", check.id, case, str(g.shape), convention),
            functools.partial(_course_differences, check, ctx, case, f, x0, g.shape, n, symmetric),
        )
        analytic = np.array([float(np.vdot(g, v)) for v in dirs])
        err = rel_error(analytic, fd)
        if err <= tol:
            results.append(CaseResult(case, True, err))
            continue
        finding = diagnose(ctx, check.function, grad, g, ref[grad], args, dims)
        kind = "symmetric " if symmetric else ""
        message, mistakes = explained(
            f"{output_label(ctx, check.function, grad)} is not the derivative of the objective: along {n} random "
            f"{kind}directions, ⟨{grad}, v⟩ and finite differences of the objective differ by {err:.2g} (relative) "
            f"on {case_label(ctx, case, args)}",
            finding,
        )
        results.append(CaseResult(case, False, err, message, mistakes, finding))
    return summarise(check, results, on_cases("agrees with finite differences of the objective"))
