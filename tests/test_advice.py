"""Advice (never scored) in every front end: the result's JSON, `check`'s text, the
review UI's detail screen and the Markdown feedback files; and never in scores,
mistakes or grades.csv."""

from __future__ import annotations

import json

from rich.console import Console

from gradgrader.distributed import result_from_json
from gradgrader.export.feedback import feedback_markdown
from gradgrader.render import result_view
from gradgrader.results import CheckRecord, Result, dumps, grades_csv
from gradgrader.tui.views import checks_view

ADVICE = "softmax_loss's loss has 1 NaN/inf entry on case 'wide' — log-softmax avoids it"


def result_with_advice() -> Result:
    checks = (
        CheckRecord("softmax_loss.loss", "softmax_loss", True, 1.0, 1.0, "matches the reference on 4 cases", kind="compare"),
        CheckRecord("softmax_loss.stable", "softmax_loss", True, 0.25, 0.25, "finite and correct on extreme inputs on 1 case",
                    kind="stability", advice=(ADVICE,)),
    )
    return Result("ada", "ada/softmax.py", "softmax", "graded", 1.25, 1.25, checks, (), 0.1)


def text_of(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_advice_is_in_the_json_apart_from_scores_and_mistakes():
    obj = json.loads(dumps(result_with_advice()))
    assert obj["score"] == obj["max_score"] and obj["mistakes"] == []
    assert obj["advice"] == ["softmax_loss.stable"]
    stable = obj["checks"][1]
    assert stable["passed"] and stable["score"] == stable["max_score"] and stable["mistakes"] == []
    assert stable["advice"] == [ADVICE]
    assert "advice" not in obj["checks"][0]  # absent where there is none


def test_a_result_read_back_from_json_keeps_its_advice():
    again = result_from_json(result_with_advice().to_json())
    assert again.checks[1].advice == (ADVICE,) and again.advice == ("softmax_loss.stable",)
    assert again.to_json() == result_with_advice().to_json()


def test_grades_csv_has_no_trace_of_advice():
    row = grades_csv([result_with_advice().to_json()]).splitlines()[1]
    assert row == "ada,1.25,1.25,graded,"


def test_check_output_shows_advice_even_when_passed_checks_are_hidden():
    text = text_of(result_view(result_with_advice().to_json(), show_passed=False))
    assert "advice (not scored): " + ADVICE in text
    assert "score 1.25/1.25" in text


def test_review_detail_screen_shows_advice_under_a_function_whose_checks_all_pass():
    text = text_of(checks_view(result_with_advice().to_json()))
    assert "all 2 check(s) pass" in text
    assert "advice, not scored: softmax_loss.stable: " + ADVICE in text


def test_feedback_file_has_an_advice_section_that_costs_nothing():
    md = feedback_markdown(result_with_advice().to_json())
    assert "**Score: 1.25 / 1.25**" in md and "Every check passed. Well done. Some advice below, never scored." in md
    assert "## Advice (not scored)" in md
    assert "- **softmax_loss.stable**: softmax_loss's loss has 1 NaN/inf entry" in md
    assert "## What to fix" not in md


def test_feedback_without_advice_has_no_advice_section():
    plain = result_with_advice()
    plain = Result(plain.submission, plain.path, plain.assignment, plain.status, plain.score, plain.max_score,
                   plain.checks[:1], (), 0.1)
    md = feedback_markdown(plain.to_json())
    assert "Advice" not in md and "advice" not in plain.to_json()


def test_a_student_pack_gives_the_same_advice_and_names_the_same_degenerate_answers(tmp_path):
    """A pack replays the reference's recording: the redrawn inputs behind ignores-input
    are recorded with the rest, so a student's self-check agrees with the course."""
    from pathlib import Path

    from typer.testing import CliRunner

    from gradgrader.cli import app

    samples = Path(__file__).resolve().parent.parent / "assignments" / "softmax" / "samples"
    runner = CliRunner()
    packed = runner.invoke(app, ["pack", "softmax", "--out", str(tmp_path / "pack")])
    assert packed.exit_code == 0, packed.output

    def check(sample: str) -> dict:
        got = runner.invoke(app, ["check", str(samples / sample / "softmax.py"), "-a", str(tmp_path / "pack"), "--json"])
        return json.loads(got.stdout)

    advised = check("log-of-softmax")
    assert advised["score"] == advised["max_score"] and advised["advice"] == ["softmax_loss.stable"]
    uniform = check("uniform-softmax")
    assert uniform["mistakes"] == ["ignores-input"]
    assert {c["id"]: c["score"] for c in uniform["checks"] if c["function"] == "softmax"}["softmax.rows_sum_to_one"] == 0.0
