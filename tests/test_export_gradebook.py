"""Gradebook forms and feedback files from result objects (no grading here: the results
are written by hand, as results.jsonl holds them)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from conftest import _result

from gradgrader.export import default_form, feedback_markdown, gradebook_csv, write_feedback
from gradgrader.export.feedback import escape, file_name
from gradgrader.export.gradebook import canvas_csv, moodle_csv, number, plain_csv


def result(sid: str, score: float, status: str = "graded", **extra) -> dict:
    checks = [
        {
            "id": "softmax.value",
            "function": "softmax",
            "passed": True,
            "score": 1.0,
            "max_score": 1.0,
            "message": "ok",
        },
        {
            "id": "softmax_loss.gradient",
            "function": "softmax_loss",
            "passed": score >= 2,
            "score": score - 1 if score >= 1 else 0,
            "max_score": 1.0,
            "message": "dW | has *stars* and <html>",
            "mistakes": [] if score >= 2 else ["sign-flipped"],
            "diagnosis": {
                "mistake": "sign-flipped",
                "title": "The gradient has the wrong sign",
                "explanation": "It is the *negative*.",
                "next_step": "Keep the minus.",
                "where": "row 2",
            },
        },
    ]
    return {
        "submission": sid,
        "assignment": "softmax",
        "status": status,
        "score": score,
        "max_score": 2.0,
        "checks": checks if status == "graded" else [],
        "mistakes": [] if score >= 2 else ["sign-flipped"],
        "elapsed_s": 0.1,
        **extra,
    }


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("value", "text"),
    [(10, "10"), (7.25, "7.25"), (9.083333333, "9.0833"), (0.0, "0"), (-0.0, "0"), ("x", "")],
)
def test_scores_are_written_plainly(value, text):
    assert number(value) == text


def test_default_form_follows_the_input_kind():
    assert [default_form(k) for k in ("canvas", "moodle", "gradescope", "folder")] == [
        "canvas",
        "moodle",
        "plain",
        "plain",
    ]


def test_canvas_form_from_a_plain_folder_leaves_the_canvas_id_empty():
    text = gradebook_csv([result("alice", 2.0)], "canvas", "HW3")
    assert rows(text)[2] == ["alice", "", "", "", "", "2"]


def test_moodle_form_marks_late_in_the_status_column_it_ignores_on_import():
    r = result("Ann_1", 1.0, lms={"kind": "moodle", "participant": "1", "name": "Ann"}, late=True)
    [header, row] = rows(gradebook_csv([r], "moodle", "", now=datetime(2026, 11, 20, 9, 0)))
    line = dict(zip(header, row, strict=True))
    assert (
        line["Identifier"] == "Participant 1"
        and line["Grade"] == "1"
        and line["Maximum Grade"] == "2"
    )
    assert (
        line["Status"].endswith("(late)") and line["Last modified (grade)"] == "2026-11-20 09:00:00"
    )
    assert "sign-flipped" in line["Feedback comments"]


def test_unknown_form_is_refused():
    with pytest.raises(ValueError, match="unknown gradebook form"):
        gradebook_csv([], "blackboard", "x")


def test_feedback_lists_every_check_and_explains_each_mistake_once():
    r = result("bob", 1.0)
    r["checks"].append(dict(r["checks"][1], id="softmax_loss.stable"))
    text = feedback_markdown(r, "Softmax")
    assert text.startswith("# Softmax: feedback for bob")
    assert "**Score: 1 / 2**" in text
    assert "| ✅ | softmax.value | `softmax` | 1 / 1 |" in text
    assert text.count("It is the *negative*.") == 1 and "explained above" in text
    assert "**Next step:** Keep the minus." in text and "Where: row 2" in text
    assert (
        r"dW \| has \*stars\* and \<html\>" in text
    )  # grader text is escaped; feedback.toml text is not


def test_feedback_of_a_full_score_and_of_a_load_error():
    assert "Every check passed" in feedback_markdown(result("ok", 2.0))
    broken = result(
        "err",
        0.0,
        status="error",
        message="softmax.py has a syntax error on line 3",
        output="hello\n",
    )
    text = feedback_markdown(broken)
    assert (
        "> softmax.py has a syntax error on line 3" in text
        and "    hello" in text
        and "## Checks" not in text
    )


def test_feedback_files_are_named_safely_and_stale_ones_removed(tmp_path):
    (tmp_path / "gone.md").write_text("old run")
    (tmp_path / "keep.txt").write_text("not ours")
    files = write_feedback(
        tmp_path, [result("Ann Lee_1", 2.0), result("Ann/Lee_1", 2.0), result("../x", 1.0)]
    )
    assert [p.name for p in files] == ["Ann_Lee_1-2.md", "Ann_Lee_1.md", "x.md"]
    assert not (tmp_path / "gone.md").exists() and (tmp_path / "keep.txt").exists()
    assert all(p.parent == tmp_path for p in files)


def test_escape_and_file_name():
    assert escape("a|b*c") == r"a\|b\*c"
    assert file_name("../../etc/passwd") == "etc_passwd" and file_name("") == "submission"


def test_late_is_left_empty_where_the_source_does_not_say() -> None:
    rows = [
        {"submission": "a", "score": 1.0, "max_score": 1.0, "status": "graded", "mistakes": [], "late": True},
        {"submission": "b", "score": 1.0, "max_score": 1.0, "status": "graded", "mistakes": [], "late": False},
        {"submission": "c", "score": 1.0, "max_score": 1.0, "status": "graded", "mistakes": []},  # Moodle, a folder
    ]
    late = {r["submission"]: r["late"] for r in csv.DictReader(io.StringIO(gradebook_csv(rows, "plain", "HW")))}
    assert late == {"a": "yes", "b": "no", "c": ""}


def test_feedback_for_one_submission_rewrites_only_its_file(tmp_path) -> None:
    rows = [{"submission": s, "score": 1.0, "max_score": 2.0, "status": "graded", "checks": [], "mistakes": []} for s in "ab"]
    write_feedback(tmp_path, rows)
    (tmp_path / "a.md").write_text("untouched")
    (tmp_path / "old.md").write_text("a student no longer in the class")
    rows[1] = dict(rows[1], score=2.0)
    files = write_feedback(tmp_path, rows, only={"b"})
    assert [p.name for p in files] == ["a.md", "b.md"]
    assert (tmp_path / "a.md").read_text() == "untouched" and (tmp_path / "old.md").exists()
    assert "**Score: 2 / 2**" in (tmp_path / "b.md").read_text()


def test_gradebook_comment_says_extra_credit():
    from gradgrader.export.gradebook import summary_line

    r = dict(_result([]), score=12.0, max_score=10.0)
    assert summary_line(r).startswith("12/10, extra credit: ")
    assert "extra credit" not in summary_line(dict(r, score=10.0))


@pytest.mark.parametrize("name", ["=HYPERLINK(\"x\")", "@SUM(A1)", "+1+1", "-2+3", "\tx", "\rx"])
def test_every_gradebook_form_neutralises_formula_names(name):
    rows = [
        {"submission": name, "score": 5.0, "max_score": 10.0, "status": "graded", "mistakes": [],
         "lms": {"kind": "moodle", "name": name, "participant": "3"}},
        {"submission": "-5", "score": -1.5, "max_score": 10.0, "status": "graded", "mistakes": []},
    ]
    for text in (canvas_csv(rows, "HW"), moodle_csv(rows), plain_csv(rows)):
        for row in csv.reader(io.StringIO(text, newline="")):
            for cell in row:
                assert cell[:1] not in {"=", "@", "+", "\t", "\r"}, (cell, text)
                assert not cell.startswith("-") or cell in {"-5", "-1.5"}, cell  # numbers stay numbers
