"""``kind = "hook"``: a check written by the course in its ``hooks.py``.

The hook is called as ``hook(check, ctx)`` and returns a :class:`Verdict` (or a full
CheckResult). It may call the student's functions through ``ctx.student(...)`` and the
reference through ``ctx.reference(...)`` — training loops, EM iterations, stationarity
conditions — and gets only plain arrays back.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradgrader.checks.base import CheckContext, CheckResult, Finding, summarise
from gradgrader.checks.registry import check_kind
from gradgrader.checks.values import degenerate_case
from gradgrader.course import hook as find_hook
from gradgrader.spec import CheckSpec


@dataclass(frozen=True)
class Verdict:
    """What a hook check decides: passed or not, a message, optional partial credit."""

    passed: bool
    message: str
    fraction: float | None = None
    mistakes: tuple[str, ...] = ()
    finding: Finding | None = None


@check_kind("hook", params={"*"}, required={"hook"}, needs_cases=False)
def run_hook(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """A check implemented by the course in hooks.py."""
    fn = find_hook(ctx.assignment, str(check.params["hook"]), f"check {check.id!r}")
    out = fn(check, ctx)
    if not isinstance(out, CheckResult):
        if not isinstance(out, Verdict):
            raise TypeError(f"hook {check.params['hook']!r} must return a Verdict, not {type(out).__name__}")
        fraction = out.fraction if out.fraction is not None else (1.0 if out.passed else 0.0)
        out = CheckResult(
            check.id, check.function, check.kind, out.passed, fraction, out.message, tuple(out.mistakes), (), out.finding
        )
    if out.fraction > 0:
        # Points for a property only on a real answer (a failure says more as it is).
        return _not_a_real_answer(check, ctx) or out
    return out


def _not_a_real_answer(check: CheckSpec, ctx: CheckContext) -> CheckResult | None:
    """``needs_real_answer = true`` (or a list of outputs) on a hook check of a property
    (every Σ_k positive definite, ...): the check pays nothing on a case where those
    outputs ignore an argument the definition depends on (a constant Σ_k = I is
    positive definite without being an M step). A failed check naming ignores-input,
    or ``None`` when the answer is real on every case of the check."""
    wanted = check.params.get("needs_real_answer")
    if not wanted or not check.cases:
        return None
    fn = ctx.assignment.functions[check.function]
    outputs = [o.name for o in fn.outputs] if wanted is True else [str(o) for o in wanted]
    what = check.description or check.id
    ctx.prefetch_fresh_draws(check.function, list(check.cases), outputs)  # every case's fresh draws at once (#17)
    unreal = [degenerate_case(ctx, check, case, ctx.inputs(check.function, case), outputs, what) for case in check.cases]
    if all(u is None for u in unreal):
        return None
    # Only the degenerate cases are known here (the hook grades every case at once):
    # a check with any of them pays nothing.
    return summarise(check, [u for u in unreal if u is not None], "")
