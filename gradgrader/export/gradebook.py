"""A gradebook CSV the LMS's own import accepts, filled from result objects (docs/result-schema.md).

Three forms; :func:`default_form` picks the one matching where the class came from:

``canvas`` — Canvas's Gradebook import ("Import" in the Gradebook). Columns, in the
order its importer insists on::

    Student, ID, SIS User ID, SIS Login ID, Section, <assignment column>

then a "Points Possible" row (the importer uses it for an assignment it creates).
``ID`` is the Canvas user id from the download's file names (what Canvas matches a row
on); ``Student`` is the download's login (``smithjohn``); ``SIS User ID``, ``SIS Login
ID`` and ``Section`` are not in a download and stay empty unless a roster (Canvas's
own Gradebook export CSV) is given, which fills them (and the real name) by ``ID``.
The assignment column is named as the caller says: ``"Softmax HW (12345)"`` — the title
and Canvas's assignment id, as in Canvas's export — updates that assignment; a title
Canvas does not know creates a new one. Every column the importer does not recognise
becomes a new assignment, so the late flag is an opt-in last column ("Late": yes/no)
— Canvas already knows which submissions were late (it named the files LATE) and
applies the course's late policy itself.

``moodle`` — the assignment's "Upload grading worksheet" (offline grading worksheet):
``Identifier`` ("Participant N", the number in the download's names), ``Full name``,
``Grade``, ``Maximum Grade``, ``Last modified (grade)`` (the export's time: Moodle skips
rows older than a grade changed in Moodle since) and ``Feedback comments`` (a one-line
summary; the full feedback is in the Markdown files).

``plain`` — one row per student for anything else (plain folders; a Gradescope group
submission gives a row per member): ``submission, student, sid, email, score,
max_score, status, late, mistakes``.

A submission that could not be loaded scores 0, as in the results.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from gradgrader.report import points
from gradgrader.result import Result, as_result
from gradgrader.results import csv_cell

Results = Iterable[Result | Mapping[str, Any]]  # typed, or JSON as results.jsonl holds it

FORMS = ("canvas", "moodle", "plain")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = (
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
)
PLAIN_COLUMNS = (
    "submission",
    "student",
    "sid",
    "email",
    "score",
    "max_score",
    "status",
    "late",
    "mistakes",
)


def default_form(kind: str) -> str:
    """The gradebook form for a class export of ``kind`` (see ingest.KINDS)."""
    return kind if kind in ("canvas", "moodle") else "plain"


def number(x: Any) -> str:
    """A score as a gradebook wants it: at most 4 decimals, no trailing zeros."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return ""
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    return points(value, places=4)


def field(r: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``r[key]`` when it is an object (``lms``, ``diagnosis``), else {}."""
    value = r.get(key)
    return value if isinstance(value, dict) else {}


def _lms(r: Result) -> dict[str, Any]:
    return r.lms or {}


def _late_cell(r: Result) -> str:
    """yes/no where the submission's source says (Canvas names late files), empty where
    it does not know (a plain folder, Moodle's export)."""
    return "yes" if r.late is True else "no" if r.late is False else ""


def _sorted(results: Results) -> list[Result]:
    return sorted(map(as_result, results), key=lambda r: r.submission)


def summary_line(result: Result | Mapping[str, Any]) -> str:
    """One line about a result, for a gradebook's comment column."""
    r = as_result(result)
    score = f"{number(r.score)}/{number(r.max_score)}"
    if r.score > r.max_score + 1e-9:
        score += ", extra credit"  # a TA's override above the maximum
    if r.status != "graded":
        return f"{score}: {r.message or 'could not be graded'}"
    mistakes = r.mistakes
    failing = sorted({c.function for c in r.checks if not c.passed})
    if not failing:
        return f"{score}: every check passed"
    text = f"{score}: checks fail in {', '.join(failing)}"
    return text + (f" ({', '.join(mistakes)})" if mistakes else "")


def read_canvas_roster(path: Path) -> dict[str, dict[str, str]]:
    """Canvas's own Gradebook export, as {ID: {Student, SIS User ID, SIS Login ID, Section}}."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    roster = {}
    for row in rows:
        sid = (row.get("ID") or "").strip()
        if sid.isdigit():
            roster[sid] = {k: (row.get(k) or "").strip() for k in CANVAS_COLUMNS}
    return roster


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def safe_cell(value: object) -> str:
    """One cell of a CSV a spreadsheet will open: a plain number as is, any other text
    through :func:`gradgrader.results.csv_cell` (the one neutraliser every CSV writer
    uses), so a name starting with ``=``, ``+``, ``-``, ``@``, tab or CR is never a formula."""
    text = "" if value is None else str(value)
    return text if _NUMBER.fullmatch(text) else csv_cell(text)


class _SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, buf: io.StringIO) -> None:
        self._w = csv.writer(buf, lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._w.writerow([safe_cell(c) for c in row])


def canvas_csv(
    results: Results,
    column: str,
    max_score: float | None = None,
    late_column: bool = False,
    roster: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The Canvas Gradebook import CSV (see the module docstring)."""
    rows = _sorted(results)
    if max_score is None:
        max_score = max((r.max_score for r in rows if r.max_score == r.max_score), default=0.0)
    buf = io.StringIO()
    w = _SafeWriter(buf)
    w.writerow([*CANVAS_COLUMNS, column, *(["Late"] if late_column else [])])
    w.writerow(
        ["Points Possible", "", "", "", "", number(max_score), *([""] if late_column else [])]
    )
    for r in rows:
        lms = _lms(r)
        uid = str(lms.get("user_id", "")) if lms.get("kind") == "canvas" else ""
        known = dict((roster or {}).get(uid, {}))
        student = known.get("Student") or str(lms.get("login") or r.submission)
        line = [
            student,
            uid,
            known.get("SIS User ID", ""),
            known.get("SIS Login ID", ""),
            known.get("Section", ""),
            number(r.score),
        ]
        if late_column:
            line.append("yes" if r.late is True else "no")
        w.writerow(line)
    return buf.getvalue()


def moodle_csv(results: Results, now: datetime | None = None) -> str:
    """The Moodle grading worksheet (see the module docstring)."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    buf = io.StringIO()
    w = _SafeWriter(buf)
    w.writerow(MOODLE_COLUMNS)
    for r in _sorted(results):
        lms = _lms(r)
        pid = str(lms.get("participant", "")) if lms.get("kind") == "moodle" else ""
        name = str(lms.get("name") or r.submission)
        status = "Graded by gradgrader" + (" (late)" if r.late is True else "")
        w.writerow(
            [
                f"Participant {pid}" if pid else "",
                name,
                "",
                status,
                number(r.score),
                number(r.max_score),
                "Yes",
                "",
                stamp,
                summary_line(r),
            ]
        )
    return buf.getvalue()


def plain_csv(results: Results) -> str:
    """One row per student (see the module docstring)."""
    buf = io.StringIO()
    w = _SafeWriter(buf)
    w.writerow(PLAIN_COLUMNS)
    for r in _sorted(results):
        lms = _lms(r)
        sid = r.submission
        people = (
            [p for p in lms.get("students", []) if isinstance(p, dict)]
            if lms.get("kind") == "gradescope"
            else []
        )
        if not people:
            name = lms.get("login") or lms.get("name") or sid
            people = [
                {
                    "name": str(name),
                    "sid": str(lms.get("user_id") or lms.get("participant") or ""),
                    "email": "",
                }
            ]
        for p in people:
            w.writerow(
                [
                    sid,
                    p.get("name", ""),
                    p.get("sid", ""),
                    p.get("email", ""),
                    number(r.score),
                    number(r.max_score),
                    r.status,
                    _late_cell(r),
                    " ".join(r.mistakes),
                ]
            )
    return buf.getvalue()


def gradebook_csv(
    results: Results,
    form: str,
    column: str,
    late_column: bool = False,
    roster: Mapping[str, Mapping[str, str]] | None = None,
    now: datetime | None = None,
) -> str:
    """The gradebook in ``form`` (one of FORMS); ``column`` names Canvas's assignment column."""
    if form == "canvas":
        return canvas_csv(results, column, late_column=late_column, roster=roster)
    if form == "moodle":
        return moodle_csv(results, now)
    if form == "plain":
        return plain_csv(results)
    raise ValueError(f"unknown gradebook form {form!r} (one of {', '.join(FORMS)})")
