"""Combining a check's cases into its result, and the names every check imports.

The types and the context live in their own modules (:mod:`gradgrader.findings`,
:mod:`.context`, :mod:`.prepared`, :mod:`.caller`); they are re-exported here, where
checks and course hooks have always imported them from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from gradgrader.checks.caller import Caller, CallProblem, CallReturned
from gradgrader.checks.context import DEPENDS, IGNORES, CheckContext, describe_problem
from gradgrader.checks.prepared import CALL_FACTOR, CALL_FLOOR_S, REDRAW_SEED, Course
from gradgrader.findings import (
    FLOOR,
    CaseResult,
    CheckResult,
    Failure,
    Finding,
    explained,
    rel_error,
    shape_text,
)
from gradgrader.spec import CheckSpec

__all__ = [
    "CALL_FACTOR", "CALL_FLOOR_S", "DEPENDS", "FLOOR", "IGNORES", "REDRAW_SEED", "RUNTIME_MISTAKES", "CallProblem",
    "CallReturned", "Caller", "CaseResult", "CheckContext", "CheckResult", "Course", "Failure", "Finding",
    "advice_cases", "advice_text", "case_label", "describe_problem", "explained", "rel_error", "scored_cases",
    "shape_text", "summarise",
]


def advice_cases(check: CheckSpec) -> frozenset[str]:
    """The cases of ``check`` that go beyond the assignment's contract: what the function
    does on them is told as advice and never scored (``advice_cases = [...]`` in TOML)."""
    return frozenset(str(c) for c in check.params.get("advice_cases", ()))


def scored_cases(check: CheckSpec, cases: list[CaseResult]) -> list[CaseResult]:
    """``cases`` without the check's advice cases: the ones its score is made of."""
    advice = advice_cases(check)
    return [c for c in cases if c.case not in advice]


def advice_text(check: CheckSpec, case: CaseResult) -> str:
    """What a failing advice case tells the student: what happened, then the author's
    ``advice`` text (why it matters and what avoids it)."""
    said = str(check.params.get("advice", "")).strip()
    return f"{case.message}" + (f" — {said}" if said else "")


# Ids that say the code did not run or return an answer: true of the case they are on,
# whatever the other cases did (docs/mistakes.md's loading ids, and an answer that ignores its input).
RUNTIME_MISTAKES = frozenset(
    {"not-implemented", "wrong-shape", "nan-output", "timeout", "memory-limit", "crashed", "ignores-input"}
)


def _named_mistakes(failing: list[CaseResult]) -> list[str]:
    """The mistakes a check names from its failing cases.

    A runtime id is named when any case has it. A derivation mistake (sign-flipped,
    missing-normalization, …) is named only when more than half of the failing cases
    whose answer the diagnosis could read reproduce it. One case is no evidence when
    others say otherwise: on a tiny case a formula can match by coincidence (on a
    2-entry output with a zero sum every answer is a multiple of the correct one, so
    "the negative" matches an unrelated bug), while a real mistake reproduces on every
    case big enough to test it. A case the diagnosis could say nothing about (too
    small to decompose, e.g. three terms in a 2-entry dW, or a single number with no
    named factor) is left out of the count: it neither confirms nor contradicts."""
    named: list[str] = []
    for c in failing:
        for m in c.mistakes:
            if m in RUNTIME_MISTAKES and m not in named:
                named.append(m)
    read = [
        c for c in failing
        if not (set(c.mistakes) & RUNTIME_MISTAKES) and (c.mistakes or (c.finding is not None and c.finding.summary))
    ]
    for c in read:
        for m in c.mistakes:
            if m not in named and 2 * sum(m in other.mistakes for other in read) > len(read):
                named.append(m)
    return named


def summarise(
    check: CheckSpec,
    cases: list[CaseResult],
    passed_message: str | Callable[[list[CaseResult]], str],
    finding: Finding | None = None,
) -> CheckResult:
    """Combine per-case results: partial credit is the share of cases passed.

    Advice cases (:func:`advice_cases`) are left out of the score, the mistakes and
    the message; when every scored case passes, each failing advice case becomes a
    line of advice. (While the scored cases fail, their message is what to fix first.)
    ``passed_message`` may be a function of the scored cases."""
    advice_ids = advice_cases(check)
    advising = [c for c in cases if c.case in advice_ids and not c.passed]
    cases = [c for c in cases if c.case not in advice_ids]
    if callable(passed_message):
        passed_message = passed_message(cases)
    n_pass = sum(c.passed for c in cases)
    total = len(cases)
    fraction = n_pass / total if total else 0.0
    failing = [c for c in cases if not c.passed]
    mistakes = _named_mistakes(failing)
    if not failing:
        advice = tuple(advice_text(check, c) for c in advising)
        return CheckResult(check.id, check.function, check.kind, True, 1.0, passed_message, (), tuple(cases), advice=advice)
    first = failing[0]
    message = first.message
    if total > 1:
        names = ", ".join(c.case for c in failing)
        message += f" [fails on {len(failing)} of {total} cases: {names}]"
    finding = finding or next((c.finding for c in failing if c.finding is not None), None)
    if finding is not None and finding.mistake and finding.mistake not in mistakes:
        # Named on one case only: the summary stays (it is true of that case), the name goes.
        finding = dataclasses.replace(finding, mistake=None)
    return CheckResult(
        check.id, check.function, check.kind, False, fraction, message, tuple(mistakes), tuple(cases), finding
    )


def case_label(ctx: CheckContext, case: str, args: Mapping[str, Any] | None = None) -> str:
    """``case 'medium' (N=40, D=12, K=5, reg=0.25)`` — enough for a student to reproduce it."""
    spec = ctx.assignment.cases[case]
    bits = [f"{k}={v}" for k, v in spec.dims.items()]
    if args:
        bits += [f"{k}={v:g}" for k, v in args.items() if isinstance(v, float)]
    text = f"case '{case}' ({', '.join(bits)})"
    if spec.description:
        text += f" — {spec.description}"
    return text
