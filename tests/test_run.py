"""The run folder (gradgrader.run): results.jsonl, overrides, grades.csv, run.json and
the resume plan of ``grade --resume``."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from gradgrader.errors import GradgraderError
from gradgrader.overrides import record_override
from gradgrader.result import CheckRecord, GraderFailure, Result
from gradgrader.results import dumps
from gradgrader.run import ResumePlan, RunFolder, RunRecord, RunSettings, plan_resume

FP = "fingerprint-now"


@dataclass(frozen=True)
class Sub:
    """A submission as the plan sees it: an id and the hash of its file."""

    id: str
    sha: str = ""

    def digest(self) -> str:
        if self.sha == "unreadable":
            raise OSError("permission denied")
        return self.sha


def result(sid: str, sha: str = "", score: float = 10.0, **fields: object) -> Result:
    check = CheckRecord(f"{sid}.value", "softmax", score == 10.0, score / 10, 1.0, "message")
    return Result(sid, f"class/{sid}/softmax.py", "softmax", "graded", score, 10.0, (check,), (), 0.1,
                  sha256=sha, **fields)  # type: ignore[arg-type]


def write_lines(out: Path, results: list[Result], tail: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.jsonl").write_text("".join(dumps(r) + "\n" for r in results) + tail, encoding="utf-8")


# --- the resume plan ------------------------------------------------------------------------------


def test_the_plan_keeps_unchanged_results_and_grades_the_rest() -> None:
    earlier = [
        result("ann", "a1", fingerprint=FP),  # unchanged: kept
        result("ben", "b1", fingerprint=FP),  # file changed since: graded again, not stale
        result("cat", "c1", fingerprint="old"),  # another rubric: stale
        result("dan", "d1", fingerprint=FP, grader_failure=GraderFailure("grading", "boom")),  # stale
        result("eve", "e1", fingerprint=FP),  # left the class: gone
    ]
    subs = [Sub("ann", "a1"), Sub("ben", "b2"), Sub("cat", "c1"), Sub("dan", "d1"), Sub("fay", "f1")]
    plan = plan_resume(subs, earlier, FP, recorded=FP)
    assert [s.id for s in plan.todo] == ["ben", "cat", "dan", "fay"]  # the class's order
    assert plan.kept == ("ann",)
    assert plan.gone == ("eve",)
    assert plan.stale == ("cat", "dan")
    assert not plan.settings_changed and not plan.regrading_stale


def test_a_changed_rubric_makes_every_older_line_stale() -> None:
    # Lines of an older run carry no fingerprint of their own: the run's recorded one counts.
    earlier = [result("ann", "a1"), result("ben", "b1", fingerprint=FP)]
    plan = plan_resume([Sub("ann", "a1"), Sub("ben", "b1")], earlier, FP, recorded="old")
    assert [s.id for s in plan.todo] == ["ann"] and plan.kept == ("ben",)
    assert plan.stale == ("ann",) and plan.settings_changed and plan.regrading_stale
    same = plan_resume([Sub("ann", "a1")], [result("ann", "a1")], FP, recorded=None)
    assert same.kept == ("ann",) and not same.stale  # no fingerprint anywhere: this run's


def test_an_unreadable_submission_is_graded_not_kept() -> None:
    plan = plan_resume([Sub("ann", "unreadable")], [result("ann", "a1")], FP, recorded=FP)
    assert [s.id for s in plan.todo] == ["ann"] and plan.kept == ()


def test_without_resume_everyone_is_graded(tmp_path: Path) -> None:
    write_lines(tmp_path, [result("ann", "a1", fingerprint=FP), result("eve", "e1", fingerprint=FP)])
    subs = [Sub("ann", "a1"), Sub("ben", "b1")]
    run = RunFolder(tmp_path)
    assert run.plan(subs, FP, resume=False, prior={}) == ResumePlan(todo=tuple(subs))
    resumed = run.plan(subs, FP, resume=True, prior={"fingerprint": FP})
    assert [s.id for s in resumed.todo] == ["ben"] and resumed.kept == ("ann",) and resumed.gone == ("eve",)


def test_the_plan_reads_every_line_not_only_the_class_as_last_graded(tmp_path: Path) -> None:
    # run.json lists the class as last graded; a student back in the class keeps their result.
    write_lines(tmp_path, [result("ann", "a1", fingerprint=FP)])
    (tmp_path / "run.json").write_text(json.dumps({"assignment": "softmax", "submissions": []}))
    plan = RunFolder(tmp_path).plan([Sub("ann", "a1")], FP, resume=True, prior={"fingerprint": FP})
    assert plan.kept == ("ann",) and plan.todo == ()


# --- results.jsonl --------------------------------------------------------------------------------


def test_append_and_reload_round_trip(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "out")
    first = result("ann", "a1", score=4.0, late=True, lms={"canvas_id": "7"}, extra={"newer_key": [1, 2]})
    run.append(first)
    assert run.results() == [first]
    again = replace(first, score=10.0, checks=())
    run.append(again)  # supersedes, never edits
    assert run.results() == [again]
    assert len(run.results_path.read_text().splitlines()) == 2


def test_a_torn_last_line_is_skipped_and_cut_off_before_the_next_append(tmp_path: Path) -> None:
    write_lines(tmp_path, [result("ann", "a1")], tail='{"submission": "ben", "sco')
    run = RunFolder(tmp_path)
    assert [r.submission for r in run.results()] == ["ann"]
    run.append(result("cat", "c1"))
    lines = run.results_path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["submission"] == "cat"
    assert [r.submission for r in run.results()] == ["ann", "cat"]


def test_a_fresh_writer_starts_over_and_a_resumed_one_repairs(tmp_path: Path) -> None:
    write_lines(tmp_path, [result("ann", "a1")], tail='{"torn')
    run = RunFolder(tmp_path)
    writer = run.writer(fresh=False)
    writer.write(result("ben", "b1"))
    writer.close()
    assert [r.submission for r in run.results()] == ["ann", "ben"]
    writer = run.writer(fresh=True)
    writer.close()
    assert run.results() == []


# --- overrides and grades.csv ---------------------------------------------------------------------


def test_grades_csv_has_the_overrides(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    write_lines(tmp_path, [result("ben", "b1", score=7.0), result("ann", "a1")])
    record_override(tmp_path, "ben", 9.5, "partial credit", who="ta", when="2025-01-01T00:00:00+00:00")
    rows = list(csv.DictReader(io.StringIO(run.write_grades().read_text())))
    assert [(r["submission"], r["score"], r["override_comment"]) for r in rows] == [
        ("ann", "10", ""), ("ben", "9.5", "partial credit")]
    ann, ben = run.reviewed()
    assert ann.override is None and ben.score == 9.5
    assert ben.override is not None and ben.override.original_score == 7.0
    assert run.results()[0].score == 7.0  # results.jsonl keeps the grader's score


# --- run.json -------------------------------------------------------------------------------------


def record(secret: str | None) -> RunRecord:
    return RunRecord("softmax", "/a/softmax", "/r/softmax.toml", "/c", "/c.zip", "canvas", "1.0",
                     {"kind": "canvas"}, FP, ("ben", "ann"), secret)


def test_run_json_round_trip_and_the_secret_only_when_there_is_one(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.record_run(record("s3cret"))
    written = run.run_json()
    assert list(written) == ["assignment", "assignment_path", "rubric", "class_folder", "input", "input_kind",
                             "gradgrader", "export", "fingerprint", "submissions", "input_secret"]
    assert written["submissions"] == ["ann", "ben"] and written["input_secret"] == "s3cret"
    run.record_run(record(None))
    assert "input_secret" not in run.run_json()


def test_a_folder_of_another_assignment_is_refused(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    run.record_run(record(None))
    assert run.prior("softmax") == {}  # no results yet: nothing to protect
    write_lines(tmp_path, [result("ann")])
    assert run.prior("softmax")["fingerprint"] == FP
    with pytest.raises(GradgraderError, match="holds results of the assignment 'softmax', not 'gmm'"):
        run.prior("gmm")


def test_run_settings_read_what_a_regrade_needs(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("")
    settings = RunSettings.from_json({
        "assignment": "softmax", "assignment_path": "/a/softmax", "rubric": str(rubric), "input_secret": "s",
        "class_folder": "/c", "input": "/c.zip", "out": "/o", "strict_sandbox": False,
    })
    assert (settings.assignment, settings.rubric, settings.input_secret) == ("/a/softmax", rubric, "s")
    assert settings.hidden == (Path("/c.zip"), Path("/c"), Path("/o")) and not settings.strict_sandbox
    empty = RunSettings.from_json({"rubric": str(tmp_path / "gone.toml"), "assignment": 3})
    assert (empty.assignment, empty.rubric, empty.strict_sandbox, empty.allow_weak_sandbox) == ("", None, True, False)
