"""A grading run's output folder (``OUT``): one object owns everything written there.

- ``results.jsonl``: one line per graded submission, appended (``results.ResultsWriter``
  for a batch, :meth:`RunFolder.append` for one re-grade); the last line of a submission
  wins, a torn last line is dropped on reading and cut off before the next append.
- ``overrides.jsonl``: the TA's score overrides and comments (``gradgrader.overrides``).
- ``grades.csv``: rewritten whole from the results with the overrides applied.
- ``run.json``: what was graded and how (:class:`RunRecord`), read back by ``--resume``,
  review's re-grades and the exports.
- the resume plan (:class:`ResumePlan`): given the class as found now, which submissions
  are graded (todo), which results are kept, which students are gone, which results are
  stale (graded under another assignment, rubric or input secret, or failed by the grader).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gradgrader.errors import GradgraderError
from gradgrader.overrides import (
    Override,
    apply_overrides,
    load_overrides,
    write_grades_with_overrides,
)
from gradgrader.result import Result
from gradgrader.results import (
    GRADES,
    RESULTS,
    RUN,
    ResultsWriter,
    append_line,
    read_results,
    read_run,
    write_run,
)


class Gradable(Protocol):
    """What the resume plan needs of a submission (``submission.Submission`` has it)."""

    @property
    def id(self) -> str: ...

    def digest(self) -> str: ...


def digest_of(submission: Gradable) -> str:
    """The submission's content hash for ``--resume``; "" (grade it) if it cannot be read."""
    try:
        return str(submission.digest())
    except Exception:  # noqa: BLE001 - one unreadable submission is graded (as an error), not fatal
        return ""


@dataclass(frozen=True)
class ResumePlan:
    """What a ``grade`` run does with each submission (ids sorted where they are ids).

    ``todo``: the submissions to grade, in the class's order (new, changed, or whose
    result is stale). ``kept``: unchanged submissions whose result stays. ``gone``:
    submissions with a result that are no longer in the class (their lines stay in
    ``results.jsonl``; they leave the grades). ``stale``: results that cannot be kept
    whatever the file holds: graded under another fingerprint (assignment, rubric, input
    secret) or failed by the grader. ``settings_changed``: the run recorded another
    fingerprint than this one."""

    todo: tuple[Any, ...]
    kept: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    settings_changed: bool = False

    @property
    def regrading_stale(self) -> bool:
        """Say that results are graded again because the assignment or rubric changed."""
        return bool(self.stale) and self.settings_changed


def plan_resume(
    submissions: Sequence[Gradable], earlier: Iterable[Result], fingerprint: str, recorded: str | None
) -> ResumePlan:
    """The resume plan of ``submissions`` given the ``earlier`` results (every line of
    ``results.jsonl``, latest per submission) and the fingerprint the run recorded.

    A result is kept only if it was graded under ``fingerprint`` (each line carries the
    fingerprint it was graded under; lines of older runs: the run's, ``recorded``), the
    grader did not fail on it, and the submission's file is unchanged (same sha256)."""
    earlier = list(earlier)
    present = {s.id for s in submissions}
    done = {
        r.submission: r.sha256
        for r in earlier
        if (r.fingerprint or recorded or fingerprint) == fingerprint and r.grader_failure is None
    }
    todo = tuple(s for s in submissions if not (s.id in done and done[s.id] == digest_of(s)))
    graded = {s.id for s in todo}
    return ResumePlan(
        todo=todo,
        kept=tuple(sorted(s.id for s in submissions if s.id not in graded)),
        gone=tuple(sorted({r.submission for r in earlier} - present)),
        stale=tuple(sorted(r.submission for r in earlier if r.submission not in done)),
        settings_changed=recorded not in (None, fingerprint),
    )


@dataclass(frozen=True)
class RunRecord:
    """``run.json`` as ``grade`` writes it: what was graded, from where, how."""

    assignment: str
    assignment_path: str
    rubric: str
    class_folder: str
    input: str
    input_kind: str
    gradgrader: str
    export: dict[str, Any]
    fingerprint: str
    submissions: tuple[str, ...]
    # The secret the inputs were generated with: --resume and review's re-grades use it
    # again. Like the rest of OUT, never for students' eyes.
    input_secret: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "assignment": self.assignment,
            "assignment_path": self.assignment_path,
            "rubric": self.rubric,
            "class_folder": self.class_folder,
            "input": self.input,
            "input_kind": self.input_kind,
            "gradgrader": self.gradgrader,
            "export": self.export,
            "fingerprint": self.fingerprint,
            "submissions": sorted(self.submissions),
        }
        if self.input_secret:
            out["input_secret"] = self.input_secret
        return out


@dataclass(frozen=True)
class RunSettings:
    """What a re-grade needs from ``run.json`` (and from the front end that re-grades:
    ``check --review`` sets ``check_path`` and ``strict_sandbox``; review sets ``out``
    and ``allow_weak_sandbox``). Missing or mistyped keys read as empty."""

    assignment: str = ""  # the assignment folder, else its name
    rubric: Path | None = None  # the rubric file, when it still exists
    input_secret: str | None = None
    class_folder: Path | None = None
    check_path: Path | None = None
    hidden: tuple[Path, ...] = ()  # kept from every sandbox: the class, its input, OUT
    strict_sandbox: bool = True
    allow_weak_sandbox: bool = False

    @classmethod
    def from_json(cls, run: Mapping[str, Any]) -> RunSettings:
        def text(key: str) -> str:
            value = run.get(key)
            return value if isinstance(value, str) else ""

        rubric = text("rubric")
        return cls(
            assignment=text("assignment_path") or text("assignment"),
            rubric=Path(rubric) if rubric and Path(rubric).is_file() else None,
            input_secret=text("input_secret") or None,
            class_folder=Path(text("class_folder")) if text("class_folder") else None,
            check_path=Path(text("check_path")) if text("check_path") else None,
            hidden=tuple(Path(text(k)) for k in ("input", "class_folder", "out") if text(k)),
            strict_sandbox=bool(run.get("strict_sandbox", True)),
            allow_weak_sandbox=bool(run.get("allow_weak_sandbox")),
        )


class RunFolder:
    """The output folder ``out`` of a grading run and every file in it."""

    def __init__(self, out: Path) -> None:
        self.out = out

    @property
    def results_path(self) -> Path:
        return self.out / RESULTS

    @property
    def grades_path(self) -> Path:
        return self.out / GRADES

    @property
    def run_path(self) -> Path:
        return self.out / RUN

    def has_results(self) -> bool:
        return self.results_path.is_file()

    # -- run.json

    def run_json(self) -> dict[str, Any]:
        """``run.json`` as written (``{}`` when missing or unreadable)."""
        return read_run(self.out)

    def settings(self) -> RunSettings:
        return RunSettings.from_json(self.run_json())

    def prior(self, assignment: str) -> dict[str, Any]:
        """The run.json of the results already here (``{}``: none), refused when they are
        another assignment's (a GradgraderError naming both)."""
        prior = self.run_json() if self.has_results() else {}
        if prior.get("assignment") not in (None, assignment):
            raise GradgraderError(
                f"{self.out} holds results of the assignment {prior['assignment']!r}, not {assignment!r}: "
                f"give another --out (or delete {self.out} to start over)"
            )
        return prior

    def record_run(self, record: RunRecord) -> None:
        write_run(self.out, record.to_json())

    # -- results.jsonl

    def results(self, everyone: bool = False) -> list[Result]:
        """The latest result of each submission of the class as last graded (``everyone``:
        of every submission ever graded here), as written (no override applied)."""
        return [Result.from_json(r) for r in read_results(self.out, everyone)]

    def results_written(self, writer: ResultsWriter) -> list[Result]:
        """:meth:`results` once ``writer`` is closed: from the lines it kept (a fresh
        results.jsonl), else read from the file."""
        kept = writer.results(self.run_json().get("submissions"))
        return kept if kept is not None else self.results()

    def overrides(self) -> dict[str, Override]:
        return load_overrides(self.out)

    def reviewed(self, results: Iterable[Result] | None = None) -> list[Result]:
        """The results (default: this folder's) with the TA's overrides applied, by id:
        what grades.csv, the gradebook and review show."""
        rows = self.results() if results is None else list(results)
        rows.sort(key=lambda r: r.submission)
        return apply_overrides(rows, self.overrides())

    def plan(self, submissions: Sequence[Gradable], fingerprint: str, resume: bool, prior: Mapping[str, Any]) -> ResumePlan:
        """Which of ``submissions`` to grade (everyone unless ``resume``)."""
        if not resume:
            return ResumePlan(todo=tuple(submissions))
        recorded = prior.get("fingerprint")
        return plan_resume(submissions, self.results(everyone=True), fingerprint,
                           recorded if isinstance(recorded, str) else None)

    def writer(self, fresh: bool) -> ResultsWriter:
        """A batch writer of results.jsonl (``fresh``: the old file is removed first)."""
        return ResultsWriter(self.out, fresh=fresh)

    def append(self, result: Result) -> None:
        """Append one result (a re-grade): it supersedes the submission's old line without
        editing it; a torn last line (a killed run) is cut off first."""
        append_line(self.out, result)

    # -- grades.csv

    def write_grades(self, results: Iterable[Result] | None = None) -> Path:
        """Rewrite grades.csv atomically (from ``results`` or results.jsonl) with the overrides."""
        return write_grades_with_overrides(self.out, results)
