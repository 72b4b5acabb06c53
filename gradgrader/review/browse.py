"""Which submissions the table shows, and in which order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gradgrader.result import Result
from gradgrader.review.scores import is_failing, max_of, score_of

STATUSES = ("graded", "error")
SORT_KEYS = ("submission", "score", "status", "mistakes")


@dataclass(frozen=True)
class Filter:
    """Which submissions the table shows. Every set criterion must hold."""

    failing_only: bool = False
    mistake: str | None = None  # submissions whose result names this mistake id
    status: str | None = None  # "graded" or "error"
    text: str = ""  # every word must occur in the submission's searchable text

    @property
    def active(self) -> bool:
        return (
            self.failing_only
            or self.mistake is not None
            or self.status is not None
            or bool(self.text.strip())
        )

    def describe(self) -> str:
        parts = []
        if self.failing_only:
            parts.append("failing")
        if self.mistake:
            parts.append(f"mistake={self.mistake}")
        if self.status:
            parts.append(f"status={self.status}")
        if self.text.strip():
            parts.append(f'search "{self.text.strip()}"')
        return " · ".join(parts) if parts else "all"


def search_text(r: Result) -> str:
    """What the search box matches, lowercased: id, status, mistakes, the load message,
    failing check ids and messages, and the TA's comment."""
    parts = [r.submission, r.status, " ".join(r.mistakes), r.message]
    for c in r.checks:
        if not c.passed:
            parts += [c.id, c.message]
    if r.override is not None:
        parts.append(r.override.comment)
    return " ".join(parts).lower()


def matches(r: Result, f: Filter) -> bool:
    if f.failing_only and not is_failing(r):
        return False
    if f.mistake is not None and f.mistake not in r.mistakes:
        return False
    if f.status is not None and r.status != f.status:
        return False
    words = f.text.lower().split()
    if words:
        hay = search_text(r)
        return all(w in hay for w in words)
    return True


def filter_results(results: Iterable[Result], f: Filter) -> list[Result]:
    return [r for r in results if matches(r, f)]


def sort_results(
    results: Iterable[Result], key: str = "submission", reverse: bool = False
) -> list[Result]:
    """Sorted by one of ``SORT_KEYS``; ties (same score, status…) keep id order."""
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort by {key!r}; choose one of {', '.join(SORT_KEYS)}")
    by_id = sorted(results, key=lambda r: r.submission)
    if key == "submission":
        return by_id[::-1] if reverse else by_id
    if key == "score":
        k: Any = lambda r: (score_of(r) / max_of(r)) if max_of(r) > 0 else score_of(r)  # noqa: E731
    elif key == "status":
        k = lambda r: r.status  # noqa: E731
    else:
        k = lambda r: (len(r.mistakes), " ".join(r.mistakes))  # noqa: E731
    return sorted(by_id, key=k, reverse=reverse)


def step_failing(results: Sequence[Result], index: int, step: int) -> int | None:
    """The index of the next (``step=1``) or previous (``step=-1``) failing result after
    ``index``, wrapping around the list; ``None`` when no other result is failing."""
    n = len(results)
    for k in range(1, n + 1):
        i = (index + step * k) % n
        if i != index and is_failing(results[i]):
            return i
    return None
