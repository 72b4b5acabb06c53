"""What a class's results become for the outside world: the LMS gradebook, per-student
feedback, Gradescope's results.json.

Everything here reads result objects (docs/result-schema.md, as in ``results.jsonl``) — the LMS
identities ride along in them (``lms``, ``late``, ``notebook``, from the submissions'
``extra``) — and nothing in the engine imports this package.

- :func:`export_class` — after ``grade``: ``OUT/gradebook.csv`` (the LMS's import
  form), ``OUT/students.csv`` (one row per student, with the late flag) for Canvas and
  Moodle classes, and ``OUT/feedback/<id>.md``;
- :func:`refresh_exports` — the same again from what ``OUT`` holds (results, the TA's
  overrides, and the export settings ``grade`` recorded in ``run.json``), after an
  override or a re-grade in the review UI;
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
from gradgrader.result import Result, as_result

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
    "export_settings",
    "refresh_exports",
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
    results: Iterable[Result | Mapping[str, Any]],
    kind: str,
    column: str,
    form: str | None = None,
    late_column: bool = False,
    roster: Path | None = None,
    title: str = "",
    now: datetime | None = None,
    only: set[str] | None = None,
) -> Exported:
    """Write the gradebook, the per-student table and the feedback folder into ``out``.

    ``kind`` is where the class came from (ingest.ClassExport.kind) and picks the
    gradebook ``form`` unless one is given; ``column`` names the assignment's gradebook
    column (Canvas: ``"Title (assignment id)"`` updates that assignment)."""
    from gradgrader.results import atomic_write

    rows = [as_result(r) for r in results]  # typed once, here
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
    files = write_feedback(out / FEEDBACK, rows, title, only)
    return Exported(form, gradebook, students, out / FEEDBACK, tuple(files))


def export_settings(kind: str, column: str, form: str | None, late_column: bool, roster: Path | None, title: str) -> dict[str, Any]:
    """What :func:`refresh_exports` needs to write the same files again (kept in run.json)."""
    return {
        "kind": kind,
        "column": column,
        "form": form,
        "late_column": late_column,
        "roster": str(roster.resolve()) if roster is not None else None,
        "title": title,
    }


def refresh_exports(
    out: Path, results: Iterable[Result | Mapping[str, Any]] | None = None, only: set[str] | None = None
) -> Exported | None:
    """Rewrite the gradebook, students.csv and feedback of ``out`` from its results (or
    ``results``, the same objects already in memory) with the TA's overrides applied,
    using the settings the ``grade`` run recorded; ``only``: just these submissions'
    feedback files (the tables are always whole). ``None`` when ``out`` has no recorded
    export (a folder written before exports were recorded, or by ``check``)."""
    from gradgrader.overrides import apply_overrides
    from gradgrader.run import RunFolder

    run = RunFolder(out)
    settings = run.run_json().get("export")
    if not isinstance(settings, dict):
        return None
    rows = run.results() if results is None else [as_result(r) for r in results]
    roster = settings.get("roster")
    return export_class(
        out,
        apply_overrides(rows, run.overrides()),
        str(settings.get("kind") or "folder"),
        str(settings.get("column") or ""),
        form=settings.get("form") or None,
        late_column=settings.get("late_column") is True,
        roster=Path(roster) if isinstance(roster, str) and Path(roster).is_file() else None,
        title=str(settings.get("title") or ""),
        only=only,
    )
