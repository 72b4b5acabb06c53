"""The feedback on one result, computed once: what to say and in which order.

Three front ends show a result: the terminal after ``check`` (``render``), the review UI
(``tui``) and the Markdown feedback files (``export.feedback``). They differ in how
they look, not in what they say: a :class:`Report` holds the checks grouped by
function, which functions are still stubs, where each mistake is explained (once: at
the first failing check that names it, later ones refer back), the TA's override and
the score. The renderers only format it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gradgrader.result import CheckRecord, Result, as_result, is_extra_credit

NOT_IMPLEMENTED = "not-implemented"


# Scores as written, by (score, places): a class's feedback writes a few values (0.25,
# 0.5, 1 ...) some 50 times per student. Numbers that compare equal are written alike.
_POINTS: dict[tuple[float, int], str] = {}


def points(x: Any, places: int = 2) -> str:
    """A score as people write it: 7.25, 10, 8.3 (at most ``places`` decimals);
    ``?`` for what is not a finite number."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return "?"
    key = (x, places)
    known = _POINTS.get(key)
    if known is not None:
        return known
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    text = "0" if text in ("-0", "") else text
    if len(_POINTS) < 4096:
        _POINTS[key] = text
    return text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


@dataclass(frozen=True)
class Finding:
    """What a failing check found (its diagnosis), with whether it is the place to
    explain the mistake: ``first`` is false when an earlier failing check named the
    same mistake, so the explanation and next step were given there."""

    mistake: str
    title: str
    summary: str
    where: str
    explanation: str
    next_step: str
    first: bool
    diagnosis: Mapping[str, Any]  # the whole diagnosis (error map, terms …)

    @classmethod
    def of(cls, check: CheckRecord, first: bool) -> Finding:
        d = check.diagnosis if isinstance(check.diagnosis, dict) else {}
        return cls(
            mistake=_text(d.get("mistake")),
            title=_text(d.get("title")),
            summary=_text(d.get("summary")),
            where=_text(d.get("where")),
            explanation=_text(d.get("explanation")),
            next_step=_text(d.get("next_step")),
            first=first,
            diagnosis=d,
        )


@dataclass(frozen=True)
class Item:
    """One check in its function's section; ``finding`` only when it failed."""

    check: CheckRecord
    finding: Finding | None = None


@dataclass(frozen=True)
class Section:
    """One function's checks. A ``stub`` (every check fails only because the function
    still raises ``NotImplementedError``) is said in one line: ``stub_next_step`` is its
    next step where it is first given (else empty), ``staff_notes`` the course staff's
    feedback of its checks, each once."""

    function: str
    items: tuple[Item, ...]
    score: float
    max_score: float
    passed: bool
    stub: bool
    stub_next_step: str = ""
    staff_notes: tuple[str, ...] = ()

    @property
    def checks(self) -> tuple[CheckRecord, ...]:
        return tuple(i.check for i in self.items)

    @property
    def advising(self) -> bool:
        return any(c.advice for c in self.checks)


@dataclass(frozen=True)
class OverrideNote:
    """The TA's override: ``changed`` when the score was changed (not only commented)."""

    score: float | None
    original_score: float
    changed: bool
    extra_credit: bool
    comment: str
    by: str
    at: str


def not_implemented(checks: Any) -> bool:
    """Whether every check of one function failed only because it is still a stub (it
    raises ``NotImplementedError``), with no advice to show."""
    records = [c if isinstance(c, CheckRecord) else CheckRecord.from_json(c) for c in checks]
    return bool(records) and all(
        not c.passed and (c.diagnosis or {}).get("mistake") == NOT_IMPLEMENTED and not c.advice for c in records
    )


def _sections(result: Result) -> tuple[Section, ...]:
    groups: dict[str, list[CheckRecord]] = {}
    for c in result.checks:
        groups.setdefault(c.function, []).append(c)
    explained: set[str] = set()
    sections: list[Section] = []
    for fn, checks in groups.items():
        score = sum(c.score for c in checks if math.isfinite(c.score))
        top = sum(c.max_score for c in checks if math.isfinite(c.max_score))
        passed = all(c.passed for c in checks)
        if not_implemented(checks):
            step = _text((checks[0].diagnosis or {}).get("next_step"))
            shown = step if step and NOT_IMPLEMENTED not in explained else ""
            if shown:
                explained.add(NOT_IMPLEMENTED)
            notes = tuple(dict.fromkeys(c.feedback.strip() for c in checks if c.feedback))
            sections.append(Section(fn, tuple(Item(c) for c in checks), score, top, False, True, shown, notes))
            continue
        items: list[Item] = []
        for c in checks:
            if c.passed:
                items.append(Item(c))
                continue
            mistake = _text((c.diagnosis or {}).get("mistake"))
            items.append(Item(c, Finding.of(c, not mistake or mistake not in explained)))
            if mistake:
                explained.add(mistake)
        sections.append(Section(fn, tuple(items), score, top, passed, False))
    return tuple(sections)


def _override(result: Result) -> OverrideNote | None:
    o = result.override
    if o is None:
        return None
    return OverrideNote(
        score=o.score,
        original_score=o.original_score,
        changed=o.score is not None and o.score != o.original_score,
        extra_credit=o.score is not None and is_extra_credit(o.score, result.max_score),
        comment=o.comment,
        by=o.by,
        at=o.at,
    )


@dataclass(frozen=True)
class Report:
    """The feedback on one result; build it with :func:`report`."""

    result: Result
    sections: tuple[Section, ...]
    override: OverrideNote | None
    people: tuple[str, ...]  # the students the LMS says it belongs to
    skipped_cells: tuple[str, ...]  # notebook cells that failed and were skipped

    @property
    def graded(self) -> bool:
        return self.result.status == "graded"

    @property
    def full_marks(self) -> bool:
        return self.result.full_marks

    @property
    def extra_credit(self) -> bool:
        return is_extra_credit(self.result.score, self.result.max_score)

    @property
    def failing(self) -> tuple[Item, ...]:
        """The failing checks of functions that are not stubs, in order."""
        return tuple(i for s in self.sections if not s.stub for i in s.items if i.finding is not None)

    @property
    def stubs(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.stub)

    @property
    def advising(self) -> tuple[CheckRecord, ...]:
        return tuple(c for c in self.result.checks if c.advice)

    @property
    def printed(self) -> tuple[str, ...]:
        """The lines the submission printed (never scored)."""
        return tuple(self.result.output.rstrip("\n").splitlines()) if self.result.output else ()

    def score_text(self, places: int = 2, sep: str = "/") -> str:
        return f"{points(self.result.score, places)}{sep}{points(self.result.max_score, places)}"


def report(result: Result | Mapping[str, Any]) -> Report:
    """The feedback on ``result`` (a Result, or its JSON as read from ``results.jsonl``)."""
    r = as_result(result)
    lms = r.lms or {}
    people = tuple(str(p["name"]) for p in lms.get("students", []) if isinstance(p, dict) and p.get("name"))
    if lms.get("name"):
        people = (str(lms["name"]),)
    skipped = tuple(
        said.removeprefix("gradgrader: ")
        for said in r.output.splitlines()
        if said.startswith("gradgrader: cell ") and "failed and was skipped" in said
    )
    return Report(r, _sections(r), _override(r), people, skipped)
