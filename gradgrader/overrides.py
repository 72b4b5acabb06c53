"""A TA's score overrides and comments: ``OUT/overrides.jsonl``, append-only.

Each line is the whole override of one submission at the time it was made::

    {"submission": "alice", "score": 8.5, "comment": "partial credit for the derivation",
     "who": "ta1", "when": "2025-03-01T12:00:00+00:00"}

``score`` is ``null`` when the TA only commented. The last line of a submission wins,
so an override is changed by appending a new line and removed by appending one with
``score`` null and an empty comment; nothing is ever edited in place, which keeps the
history and makes concurrent appends from two TAs safe. ``results.jsonl`` is never
touched: the grader's own score stays available as ``override.original_score``.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gradgrader.result import AppliedOverride, Result, as_result
from gradgrader.results import GRADES, atomic_write, grades_csv, read_results

OVERRIDES = "overrides.jsonl"
OVERRIDE_COLUMNS = ("override_comment", "override_by", "override_at")


@dataclass(frozen=True)
class Override:
    """The TA's latest word on one submission."""

    submission: str
    score: float | None  # None: the grader's score stands
    comment: str
    who: str
    when: str  # ISO 8601, UTC

    @property
    def empty(self) -> bool:
        """True when this line removes the override (no score, no comment)."""
        return self.score is None and not self.comment

    def to_json(self) -> dict[str, Any]:
        return {
            "submission": self.submission,
            "score": self.score,
            "comment": self.comment,
            "who": self.who,
            "when": self.when,
        }


def _parse(obj: Any) -> Override | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("submission"), str):
        return None
    score = obj.get("score")
    if isinstance(score, bool) or not (score is None or isinstance(score, (int, float))):
        return None
    if score is not None and not math.isfinite(score):
        return None
    comment, who, when = obj.get("comment") or "", obj.get("who") or "", obj.get("when") or ""
    if not all(isinstance(v, str) for v in (comment, who, when)):
        return None
    return Override(obj["submission"], None if score is None else float(score), comment, who, when)


def load_overrides(out: Path) -> dict[str, Override]:
    """The latest override of each submission in ``out/overrides.jsonl`` (none: ``{}``).

    Malformed lines and a torn last line are skipped; a line that clears an override
    (no score, no comment) removes the submission from the answer."""
    path = out / OVERRIDES
    latest: dict[str, Override] = {}
    try:
        f = path.open("rb")
    except OSError:
        return latest
    with f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                found = _parse(json.loads(raw))
            except ValueError:
                continue
            if found is None:
                continue
            if found.empty:
                latest.pop(found.submission, None)
            else:
                latest[found.submission] = found
    return latest


def current_user() -> str:
    """Who is overriding: the login name, or ``unknown`` where there is none (containers)."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises OSError/KeyError when no user database entry exists
        return "unknown"


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# Extra credit: an override may go above the maximum, up to this many times it (a typo
# such as 75 for 7.5 is still refused).
EXTRA_CREDIT_LIMIT = 2.0


def parse_score(text: str, max_score: float) -> float | None:
    """A score typed by a TA: blank means no override; otherwise a number from 0 to
    ``EXTRA_CREDIT_LIMIT`` × ``max_score`` (above the maximum is extra credit).

    Raises ``ValueError`` with a sentence for the TA when the text is not acceptable."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError("a score must be a number of at least 0")
    limit = EXTRA_CREDIT_LIMIT * max_score
    if value > limit + 1e-9:
        # A typo guard (75 for 7.5): extra credit goes at most to twice the maximum.
        raise ValueError(
            f"{value:g} is more than twice the maximum score {max_score:g} "
            f"(extra credit goes up to {limit:g}); a typo?"
        )
    return value


def record_override(
    out: Path,
    submission: str,
    score: float | None,
    comment: str,
    who: str | None = None,
    when: str | None = None,
) -> Override:
    """Append one override line to ``out/overrides.jsonl`` (flushed and fsynced) and return it.

    Give the full new state: the score *and* the comment to keep (``score=None`` and
    ``comment=""`` clears the override)."""
    if score is not None and (not math.isfinite(score) or score < 0):
        raise ValueError("a score must be a finite number of at least 0")
    entry = Override(
        submission,
        None if score is None else float(score),
        comment.strip(),
        who or current_user(),
        when or now_utc(),
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / OVERRIDES
    with path.open("ab") as f:
        # A torn last line (killed mid-write) would glue onto ours: start on a fresh line.
        if f.tell() > 0:
            with path.open("rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    f.write(b"\n")
        f.write(json.dumps(entry.to_json(), ensure_ascii=False).encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return entry


def apply_overrides(
    results: Iterable[Result | Mapping[str, Any]], overrides: Mapping[str, Override]
) -> list[Result]:
    """Typed results with each override applied: ``score`` replaced when the TA gave one,
    and ``override`` (score, original_score, comment, by, at) attached. A result may come
    as its JSON (a line of results.jsonl); inputs are not modified."""
    out: list[Result] = []
    for item in results:
        r = as_result(item)
        o = overrides.get(r.submission)
        if o is None:
            out.append(r)
            continue
        applied = AppliedOverride(o.score, r.score, o.comment, o.who, o.when)
        out.append(replace(r, override=applied, score=r.score if o.score is None else o.score))
    return out


def grades_csv_with_overrides(
    results: Iterable[Result | Mapping[str, Any]], overrides: Mapping[str, Override]
) -> str:
    """``grades.csv`` text: the grader's columns (submission, score, max_score, status,
    mistakes) with overridden scores, plus override_comment, override_by, override_at
    when any submission has an override (the file is unchanged when none has)."""
    applied = apply_overrides(results, overrides)
    base = grades_csv(applied)
    if not overrides:
        return base
    rows = list(csv.reader(io.StringIO(base)))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*rows[0], *OVERRIDE_COLUMNS])
    for row in rows[1:]:
        o = overrides.get(row[0])
        w.writerow([*row, *((o.comment, o.who, o.when) if o else ("", "", ""))])
    return buf.getvalue()


def write_grades_with_overrides(out: Path, results: Iterable[Result | Mapping[str, Any]] | None = None) -> Path:
    """Rewrite ``out/grades.csv`` atomically from the results (default: ``out/results.jsonl``)
    and ``out/overrides.jsonl``."""
    path = out / GRADES
    rows = read_results(out) if results is None else results
    atomic_write(path, grades_csv_with_overrides(rows, load_overrides(out)))
    return path
