"""``kind = "hook"``: a check written by the course in its ``hooks.py``.

The hook is called as ``hook(check, ctx)`` and returns a :class:`Verdict` (or a full
CheckResult). It may call the student's functions through ``ctx.student(...)`` and the
reference through ``ctx.reference(...)`` — training loops, EM iterations, stationarity
conditions — and gets only plain arrays back.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradgrader.checks import check_kind
from gradgrader.checks.base import CheckContext, CheckResult, Finding
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
    if isinstance(out, CheckResult):
        return out
    if not isinstance(out, Verdict):
        raise TypeError(f"hook {check.params['hook']!r} must return a Verdict, not {type(out).__name__}")
    fraction = out.fraction if out.fraction is not None else (1.0 if out.passed else 0.0)
    return CheckResult(
        check.id, check.function, check.kind, out.passed, fraction, out.message, tuple(out.mistakes), (), out.finding
    )
