"""Checks on values: against the reference, stability, sums and invariances."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradgrader.checks.base import (
    FLOOR,
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
from gradgrader.diagnose import diagnose, error_map, term_scale
from gradgrader.spec import CheckSpec


def output_label(ctx: CheckContext, function: str, output: str) -> str:
    fn = ctx.assignment.functions[function]
    return f"{function}'s {output}" if len(fn.outputs) > 1 else f"{function}(…)"


def failure_case(ctx: CheckContext, check: CheckSpec, case: str, got: Failure, args: Mapping[str, Any], ref: Mapping[str, np.ndarray] | None) -> CaseResult:
    """A case whose call gave nothing comparable; a wrong shape is still diagnosed (transposed)."""
    finding = None
    if got.value is not None and got.output is not None:
        ref = ref if ref is not None else ctx.reference(check.function, args)
        finding = diagnose(ctx, check.function, got.output, got.value, ref[got.output], args, ctx.course.dims(case))
    message, named = explained(f"{got.message} on {case_label(ctx, case, args)}{hard_coded_size(ctx, case, got.message, got.mistakes)}", finding, ": ")
    return CaseResult(case, False, None, message, named or got.mistakes, finding)


# Messages the grader writes itself ("did not finish within 3 s", "memory limit of
# 512 MB"): their numbers are limits, never a size the student wrote into the code.
GRADER_WORDED = frozenset({"timeout", "memory-limit"})


def hard_coded_size(ctx: CheckContext, case: str, message: str, mistakes: tuple[str, ...] = ()) -> str:
    """A note when an exception's message quotes a size of another case but none of
    this one's — "shapes (500,) (7,)" on a case with N = 7 while another case has
    N = 500: the classic ``num_train = 500`` copied from the notebook. Only sizes ≥ 3
    count (0, 1 and 2 are in every message), and only one that no dimension of this
    case has, so the note is never attached to an ordinary shape error — nor to a
    time-out's or memory limit's message, whose numbers are the grader's."""
    if GRADER_WORDED.intersection(mistakes):
        return ""
    here = ctx.course.dims(case)
    mine = set(here.values())
    # At most 9 digits: a student's exception text may hold a 5,000-digit number, which
    # int() refuses (Python's digit limit) — no case size is that long anyway.
    quoted = {int(n) for n in re.findall(r"(?<![\w.])(\d{1,9})(?![\w.\d])", message)}
    for other, spec in ctx.assignment.cases.items():
        for dim, value in spec.dims.items():
            if other != case and value >= 3 and value in quoted and value not in mine and dim in here:
                return (f" — {value} is {dim} of case '{other}', not of this case ({dim} = {here[dim]}): "
                        f"is a size written into the code (e.g. num_train = {value}) instead of read from the arguments' shapes?")
    return ""


def nonfinite_case(
    ctx: CheckContext, check: CheckSpec, case: str, output: str, s: np.ndarray, args: Mapping[str, Any], mistake: str | None
) -> CaseResult:
    """A case whose output has NaN/inf entries; ``mistake`` names why (None: nothing
    true can be named here, e.g. a function already wrong on ordinary inputs)."""
    bad = int(np.size(s) - np.count_nonzero(np.isfinite(s)))
    label = output_label(ctx, check.function, output)
    summary = f"{label} has {bad} NaN/inf entr{'y' if bad == 1 else 'ies'}"
    finding = Finding(mistake, summary, "", None)
    return CaseResult(case, False, float("inf"), f"{summary} on {case_label(ctx, case, args)}", (mistake,) if mistake else (), finding)


def placeholder_case(
    ctx: CheckContext,
    check: CheckSpec,
    case: str,
    args: Mapping[str, Any],
    got: Mapping[str, np.ndarray],
    outputs: list[str],
    ref: Mapping[str, np.ndarray],
    rtol: float,
) -> CaseResult | None:
    """A failing case named not-implemented when every one of ``outputs`` is zero —
    exactly, or below FLOOR in norm (5e-324: zero for every function graded here, see
    rel_error) — where the reference's answer is not: a starter that returns 0.0 and
    np.zeros_like(W). Compared with the reference, that is not a derivation to
    diagnose term by term; in checks that need no reference (a zero loss with a zero
    gradient is self-consistent, zero columns sum to zero) it would pass. ``None``
    otherwise."""
    if not all(float(np.linalg.norm(got[n])) < FLOOR for n in outputs) or all(
        rel_error(got[n], ref[n], max(FLOOR, term_scale(ctx, check.function, n, args))) <= rtol for n in outputs
    ):
        return None  # not all zero, or zero is the answer to the rounding of its terms
    fn = check.function
    exact = all(np.all(got[n] == 0) for n in outputs)
    zeros = "only zeros" if exact else "only values too small to be anything but zero (below 1e-10)"
    summary = f"{fn} returns {zeros} on {case_label(ctx, case, args)}: nothing is computed yet (the starter's placeholder?)"
    return CaseResult(case, False, 1.0, f"{summary} — write {ctx.assignment.functions[fn].signature}", ("not-implemented",),
                      Finding("not-implemented", f"returns {zeros}", "", None))


def degenerate_case(
    ctx: CheckContext, check: CheckSpec, case: str, args: Mapping[str, Any], outputs: list[str], what: str
) -> CaseResult | None:
    """A failing case named ignores-input when ``outputs`` do not change with an array
    argument the definition depends on (:meth:`CheckContext.ignored_arguments`): a
    constant (1/K everywhere, I − 1/K, 5e-324) or a "loss" of W alone has properties
    such as rows summing to 1 without being an answer, and a property check pays only
    for a real answer. ``what`` names the property, for the message."""
    ignored = ctx.ignored_arguments(check.function, case, outputs)
    if not ignored:
        return None
    names = ignored[0] if len(ignored) == 1 else f"{', '.join(ignored[:-1])} or {ignored[-1]}"
    label = output_label(ctx, check.function, outputs[0]) if len(outputs) == 1 else f"{check.function}'s {' and '.join(outputs)}"
    verb = "does" if len(outputs) == 1 else "do"
    summary = f"{label} {verb} not change when {names} changes: a placeholder, a constant or a formula without {names}, not an answer"
    message = f"{summary} (a fresh {names} changes the reference's answer on {case_label(ctx, case, args)}); {what} is checked only on a real answer"
    return CaseResult(case, False, None, message, ("ignores-input",), Finding("ignores-input", summary))


def compare_case(
    ctx: CheckContext, check: CheckSpec, case: str, rtol: float, outputs: list[str], nonfinite_mistake: str | None = "nan-output"
) -> CaseResult:
    """One case of a comparison with the reference, with diagnosis on failure."""
    fn = check.function
    args = ctx.inputs(fn, case)
    dims = ctx.course.dims(case)
    ref = ctx.reference(fn, args)
    got = ctx.student(fn, args, dims, need=outputs)
    if isinstance(got, Failure):
        return failure_case(ctx, check, case, got, args, ref)
    placeholder = placeholder_case(ctx, check, case, args, got, outputs, ref, rtol)
    if placeholder is not None:
        return placeholder
    worst = 0.0
    for name in outputs:
        s, r = got[name], ref[name]
        if not np.all(np.isfinite(s)) and np.all(np.isfinite(r)):
            return nonfinite_case(ctx, check, case, name, s, args, nonfinite_mistake)
        # Relative to the answer, or to its largest term where the course names its
        # terms (a difference of nearly equal terms is known only to their rounding).
        err = rel_error(s, r, max(FLOOR, term_scale(ctx, fn, name, args)))
        if not err <= rtol:
            finding = diagnose(ctx, fn, name, s, r, args, dims)
            label = output_label(ctx, fn, name)
            message, mistakes = explained(
                f"{label} differs from the reference on {case_label(ctx, case, args)}: relative error {err:.2g}", finding
            )
            if finding is not None and finding.where:
                message += f" ({finding.where})"
            return CaseResult(case, False, err, message, mistakes, finding)
        worst = max(worst, err)
    return CaseResult(case, True, worst)


def _outputs(ctx: CheckContext, check: CheckSpec) -> list[str]:
    fn = ctx.assignment.functions[check.function]
    chosen = check.params.get("output")
    return [chosen] if chosen else [o.name for o in fn.outputs]


def _passed_message(what: str) -> Callable[[list[CaseResult]], str]:
    """The message of a passed check, made from its scored cases (advice cases left out)."""

    def message(results: list[CaseResult]) -> str:
        worst = max((c.error or 0.0) for c in results)
        n = len(results)
        return f"{what} on {n} case{'s' if n > 1 else ''} (largest relative error {worst:.1e})"

    return message


def on_cases(what: str) -> Callable[[list[CaseResult]], str]:
    """``"{what} on N cases"`` for the scored cases of a passed check."""
    return lambda results: f"{what} on {len(results)} case{'s' if len(results) > 1 else ''}"


@check_kind("compare", params={"output", "rtol"})
def compare(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Values against the reference (relative Frobenius error ≤ rtol on every case)."""
    rtol = float(check.params.get("rtol", ctx.assignment.rtol))
    results = [compare_case(ctx, check, case, rtol, _outputs(ctx, check)) for case in check.cases]
    return summarise(check, results, _passed_message("matches the reference"))


# Stability cases push float32 code harder: a logit of 1000 carries an absolute float32
# rounding error of about 6e-5, which the softmax turns into ~1e-5 relative error. 1e-4
# passes correct float32 code and still fails any overflow, NaN or clipping "fix".
STABILITY_RTOL = 1e-4


@check_kind("stability", params={"output", "rtol", "underflow_mistake", "underflow_cases"}, required={"mistake"})
def stability(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Finite and right on extreme inputs (huge logits, far points); names the instability.

    ``underflow_mistake`` with ``underflow_cases``: when the function survives the other
    extreme cases (no overflow: it subtracts the maximum) and breaks only on these
    (widely spread inputs), the trouble is an underflow — the log of a probability
    that became 0 — and that mistake is named instead of ``mistake``. Only where the
    contract asks for such inputs: otherwise make them ``advice_cases`` (never scored)."""
    rtol = float(check.params.get("rtol", STABILITY_RTOL))
    mistake = str(check.params["mistake"])
    underflow = check.params.get("underflow_mistake")
    underflow_cases = set(check.params.get("underflow_cases", []))
    outputs = _outputs(ctx, check)
    # Wrong on extreme inputs is an instability only if the function is right on
    # ordinary ones (the cases of its other checks): NaN everywhere is plain nan-output,
    # and wrong everywhere is the mistake the other checks name.
    ordinary = _ordinary_status(ctx, check, outputs)
    # The instability is named only for a function that is right on every ordinary case;
    # one that is wrong there fails here too, for the reason its other checks name.
    named = {"right": mistake, "nonfinite": "nan-output"}.get(ordinary)
    results = []
    for case in check.cases:
        result = compare_case(ctx, check, case, rtol, outputs, named)
        if not result.passed and not result.mistakes and ordinary == "right" and result.error is not None:
            # Finite but wrong only on extreme inputs: a "stabiliser" that clips scores.
            summary = f"right on ordinary inputs but wrong on extreme ones ({mistake})"
            result = CaseResult(case, False, result.error, f"{result.message}; {summary}", (mistake,),
                                Finding(mistake, summary, "", result.finding.error_map if result.finding else None))
        results.append(result)
    failed = {r.case for r in results if not r.passed}
    survived = {r.case for r in results if r.passed} - underflow_cases
    if underflow and failed and failed <= underflow_cases and survived:
        results = [_renamed(r, mistake, str(underflow)) for r in results]
    return summarise(check, results, _passed_message("finite and correct on extreme inputs"))


def _renamed(result: CaseResult, old: str, new: str) -> CaseResult:
    """``result`` with the mistake ``old`` named ``new`` (message, ids and finding)."""
    if old not in result.mistakes:
        return result
    finding = result.finding
    if finding is not None and finding.mistake == old:
        finding = dataclasses.replace(finding, mistake=new, summary=finding.summary.replace(old, new))
    mistakes = tuple(new if m == old else m for m in result.mistakes)
    return dataclasses.replace(result, message=result.message.replace(old, new), mistakes=mistakes, finding=finding)


def _ordinary_status(ctx: CheckContext, check: CheckSpec, outputs: list[str]) -> str:
    """How the function does on the ordinary cases (those of its other checks):
    right on all of them, else failed, nonfinite or wrong on one.

    Every ordinary case counts, not the first: on a case with N = 1 a sum over samples
    equals the mean and a softmax over axis 0 may coincide, so one small case would call
    a wrong function right (the calls are memoised: the compare checks make them anyway)."""
    extreme = set(check.cases)
    ordinary = sorted(
        {c for other in ctx.assignment.checks if other.function == check.function and other.kind != "stability" for c in other.cases}
        - extreme
    )
    rtol = float(check.params.get("rtol", STABILITY_RTOL))
    status = "right"
    for case in ordinary:
        args = ctx.inputs(check.function, case)
        got = ctx.student(check.function, args, ctx.course.dims(case), need=outputs)
        if isinstance(got, Failure):
            return "failed"
        if not all(np.all(np.isfinite(got[o])) for o in outputs):
            status = "nonfinite"
            continue
        ref = ctx.reference(check.function, args)
        if status == "right" and not all(rel_error(got[o], ref[o]) <= rtol for o in outputs):
            status = "wrong"
    return status


# Sums of outputs that are O(1) accumulate one rounding error per term: float32 code
# summing K ≤ 100 probabilities is off by at most ~K·6e-8 < 1e-5.
SUM_ATOL = 1e-5


@check_kind("sums", params={"output", "axis", "value", "atol", "mistake", "what"}, required={"axis", "value"})
def sums(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """An output summed over an axis is constant (rows of probabilities sum to 1, ...)."""
    output = _outputs(ctx, check)[0]
    axis = check.params["axis"]
    axis = tuple(axis) if isinstance(axis, list) else int(axis)
    target = float(check.params["value"])
    atol = float(check.params.get("atol", SUM_ATOL))
    what = check.params.get("what", f"{output} summed over axis {axis} equals {target:g}")
    mistake = check.params.get("mistake")
    results: dict[str, CaseResult] = {}
    holds: dict[str, tuple[Mapping[str, Any], float]] = {}  # cases where the property holds
    for case in check.cases:
        args = ctx.inputs(check.function, case)
        got = ctx.student(check.function, args, ctx.course.dims(case), need=[output])
        if isinstance(got, Failure):
            results[case] = failure_case(ctx, check, case, got, args, None)
            continue
        placeholder = placeholder_case(ctx, check, case, args, got, [output], ctx.reference(check.function, args), ctx.assignment.rtol)
        if placeholder is not None:
            results[case] = placeholder
            continue
        s = got[output]
        total = s.sum(axis=axis)
        scale = max(1.0, float(np.max(np.abs(s))) if s.size else 1.0)
        err = float(np.max(np.abs(total - target))) / scale if total.size else 0.0
        if not err <= atol:
            worst = np.unravel_index(int(np.argmax(np.abs(total - target))), total.shape) if total.ndim else ()
            at = f" (e.g. at index {tuple(int(i) for i in worst)}: {float(total[worst]):.6g})" if total.ndim else f" ({float(total):.6g})"
            message = f"{output_label(ctx, check.function, output)}: expected {what}, but it does not on {case_label(ctx, case, args)}{at}"
            emap = error_map(np.atleast_1d(total), np.full(np.atleast_1d(total).shape, target)) if target else None
            finding = Finding(mistake, f"not {what}", "", emap)
            results[case] = CaseResult(case, False, err, message, (mistake,) if mistake else (), finding)
        else:
            holds[case] = (args, err)
    # Holding the property pays only for a real answer (a failure says more as it is):
    # the fresh draws of every such case in one round trip (#17).
    ctx.prefetch_fresh_draws(check.function, list(holds), [output])
    for case, (held, err) in holds.items():
        results[case] = degenerate_case(ctx, check, case, held, [output], f"that {what}") or CaseResult(case, True, err)
    return summarise(check, [results[c] for c in check.cases], on_cases(str(what)))


@check_kind("invariance", params={"output", "rtol", "add", "scale", "what"}, required={"what"})
def invariance(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """f(transformed inputs) equals f(inputs), e.g. softmax(Z + c) = softmax(Z)."""
    rtol = float(check.params.get("rtol", ctx.assignment.rtol))
    add: Mapping[str, float] = check.params.get("add", {})
    mul: Mapping[str, float] = check.params.get("scale", {})
    what = str(check.params["what"])
    outputs = _outputs(ctx, check)
    moved = {case: _moved(ctx.inputs(check.function, case), add, mul) for case in check.cases}
    ctx.prefetch(check.function, [[m] for m in moved.values()])  # every case's moved inputs at once (#17)
    results: dict[str, CaseResult] = {}
    holds: dict[str, tuple[Mapping[str, Any], float]] = {}
    for case in check.cases:
        args = ctx.inputs(check.function, case)
        dims = ctx.course.dims(case)
        base = ctx.student(check.function, args, dims)
        other = ctx.student(check.function, moved[case], dims)
        bad = base if isinstance(base, Failure) else other if isinstance(other, Failure) else None
        if bad is not None:
            results[case] = failure_case(ctx, check, case, bad, args, None)
            continue
        assert not isinstance(base, Failure) and not isinstance(other, Failure)
        unreal = placeholder_case(ctx, check, case, args, base, outputs, ctx.reference(check.function, args), ctx.assignment.rtol)
        if unreal is not None:
            results[case] = unreal
            continue
        worst = 0.0
        for name in outputs:
            err = rel_error(other[name], base[name])
            worst = max(worst, err) if np.isfinite(err) else float("inf")
            if not err <= rtol:
                results[case] = CaseResult(
                    case, False, err,
                    f"{output_label(ctx, check.function, name)} should not change when {what}, but it changes by {err:.2g} (relative) on {case_label(ctx, case, args)}",
                    (), Finding(None, f"not invariant when {what}", "", error_map(other[name], base[name])),
                )
                break
        else:
            holds[case] = (args, worst)
    # Holding the property pays only for a real answer (a failure says more as it is).
    ctx.prefetch_fresh_draws(check.function, list(holds), outputs)
    for case, (held, worst) in holds.items():
        results[case] = degenerate_case(ctx, check, case, held, outputs, f"that nothing changes when {what}") or CaseResult(case, True, worst)
    return summarise(check, [results[c] for c in check.cases], on_cases(f"unchanged when {what},"))


def _moved(args: Mapping[str, Any], add: Mapping[str, float], mul: Mapping[str, float]) -> dict[str, Any]:
    """The arguments with constants added and scale factors applied."""
    moved = dict(args)
    for name, c in add.items():
        moved[name] = args[name] + float(c)
    for name, c in mul.items():
        moved[name] = args[name] * float(c)
    return moved

