"""What a class's results become for the outside world: the LMS gradebook, per-student
feedback, Gradescope's results.json.

Everything here reads result objects (SPEC §4, as in ``results.jsonl``) — the LMS
identities ride along in them (``lms``, ``late``, ``notebook``, from the submissions'
``extra``) — and nothing in the engine imports this package.

- :func:`export_class` — after ``grade``: ``OUT/gradebook.csv`` (the LMS's import
  form), ``OUT/students.csv`` (one row per student, with the late flag) for Canvas and
  Moodle classes, and ``OUT/feedback/<id>.md``;
- :func:`gradebook_csv`, :func:`feedback_markdown`, :func:`results_json` — the pure
  conversions behind them;
- :func:`run_autograder` — Gradescope autograder mode (``gradgrader gradescope``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gradgrader.export.feedback import feedback_markdown, write_feedback
from gradgrader.export.gradebook import (
    FORMS,
    default_form,
    gradebook_csv,
    plain_csv,
    read_canvas_roster,
)
from gradgrader.export.gradescope import RESULTS_SCHEMA, results_json, run_autograder, write_results

GRADEBOOK = "gradebook.csv"
STUDENTS = "students.csv"
FEEDBACK = "feedback"

__all__ = [
    "FEEDBACK",
    "FORMS",
    "GRADEBOOK",
    "RESULTS_SCHEMA",
    "STUDENTS",
    "Exported",
    "default_form",
    "export_class",
    "feedback_markdown",
    "gradebook_csv",
    "read_canvas_roster",
    "results_json",
    "run_autograder",
    "write_feedback",
    "write_results",
]


@dataclass(frozen=True)
class Exported:
    """The files :func:`export_class` wrote."""

    form: str
    gradebook: Path
    students: Path | None
    feedback: Path
    feedback_files: tuple[Path, ...]


def export_class(
    out: Path,
    results: Iterable[Mapping[str, Any]],
    kind: str,
    column: str,
    form: str | None = None,
    late_column: bool = False,
    roster: Path | None = None,
    title: str = "",
    now: datetime | None = None,
) -> Exported:
    """Write the gradebook, the per-student table and the feedback folder into ``out``.

    ``kind`` is where the class came from (ingest.ClassExport.kind) and picks the
    gradebook ``form`` unless one is given; ``column`` names the assignment's gradebook
    column (Canvas: ``"Title (assignment id)"`` updates that assignment)."""
    from gradgrader.results import atomic_write

    rows = list(results)
    form = form or default_form(kind)
    out.mkdir(parents=True, exist_ok=True)
    known = read_canvas_roster(roster) if roster is not None else None
    gradebook = out / GRADEBOOK
    atomic_write(
        gradebook, gradebook_csv(rows, form, column, late_column=late_column, roster=known, now=now)
    )
    students = None
    if form != "plain":
        students = out / STUDENTS
        atomic_write(students, plain_csv(rows))
    files = write_feedback(out / FEEDBACK, rows, title)
    return Exported(form, gradebook, students, out / FEEDBACK, tuple(files))
