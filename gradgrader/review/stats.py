"""The class at a glance: counts, mean, median, a histogram, the common mistakes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gradgrader.result import Result
from gradgrader.review.scores import has_override, is_failing, max_of, score_of


@dataclass(frozen=True)
class Stats:
    """The class at a glance. Mean, median and histogram are over graded submissions
    (a submission that could not be loaded has no meaningful score; it is counted apart)."""

    total: int
    graded: int
    errors: int
    full: int
    failing: int
    overridden: int
    mean: float | None
    median: float | None
    max_score: float
    histogram: tuple[int, ...]  # counts per bin of [0, max_score]
    edges: tuple[float, ...]  # len(histogram) + 1 bin edges
    mistakes: tuple[tuple[str, int], ...]  # (id, number of submissions), most common first


def histogram(
    scores: Sequence[float], top: float, bins: int = 10
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Counts of ``scores`` in ``bins`` equal bins over [0, top]; the last bin includes
    ``top`` and scores outside the range go to the nearest end bin."""
    top = top if top > 0 else max([*scores, 1.0])
    edges = tuple(top * i / bins for i in range(bins + 1))
    counts = [0] * bins
    for s in scores:
        i = int(s / top * bins) if top > 0 else 0
        counts[min(max(i, 0), bins - 1)] += 1
    return tuple(counts), edges


def mistake_counts(results: Iterable[Result]) -> list[tuple[str, int]]:
    """Each mistake id with the number of submissions that have it, most common first
    (ties by id)."""
    counts = Counter(m for r in results for m in set(r.mistakes))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def median(values: Sequence[float]) -> float | None:
    s = sorted(values)
    if not s:
        return None
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def class_stats(results: Sequence[Result], bins: int = 10) -> Stats:
    graded = [r for r in results if r.status == "graded"]
    scores = [score_of(r) for r in graded]
    top = max((max_of(r) for r in results), default=0.0)
    hist, edges = histogram(scores, top, bins)
    return Stats(
        total=len(results),
        graded=len(graded),
        errors=len(results) - len(graded),
        full=sum(1 for r in graded if score_of(r) >= max_of(r) - 1e-9),
        failing=sum(1 for r in results if is_failing(r)),
        overridden=sum(1 for r in results if has_override(r)),
        mean=sum(scores) / len(scores) if scores else None,
        median=median(scores),
        max_score=top,
        histogram=hist,
        edges=edges,
        mistakes=tuple(mistake_counts(results)),
    )
