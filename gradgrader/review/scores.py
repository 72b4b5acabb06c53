"""Scores as people read them, and the states review sorts and filters on."""

from __future__ import annotations

import math
from typing import Any

from gradgrader.result import Result


def num(x: Any) -> str:
    """A score as people write it: 7.25, 10, 8.3 (at most two decimals)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return "?"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def score_of(r: Result) -> float:
    return _finite(r.score)


def max_of(r: Result) -> float:
    return _finite(r.max_score)


def original_score(r: Result) -> float:
    """The grader's score, before any TA override."""
    return float(r.override.original_score) if r.override is not None else score_of(r)


def is_failing(r: Result) -> bool:
    """Something to review: not loadable, a failing check, or short of full marks.
    Judged on the grader's findings, so overriding a score does not hide the failure."""
    if r.status != "graded":
        return True
    if any(not c.passed for c in r.checks):
        return True
    return original_score(r) < max_of(r) - 1e-9


def has_override(r: Result) -> bool:
    return r.override is not None
