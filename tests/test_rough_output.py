"""What ``check`` and the feedback files show (issue #19): one line per function that is
still a stub, no hard wrap when piped, and the next step of an unnamed failure."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import SOFTMAX, sample_path
from rich.console import Console
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.export.feedback import feedback_markdown
from gradgrader.render import result_view


def _stub_check(fn: str, cid: str, max_score: float, feedback: str = "") -> dict:
    return {
        "id": f"{fn}.{cid}", "function": fn, "passed": False, "score": 0.0, "max_score": max_score,
        "message": f"{fn} is not implemented yet (it raises NotImplementedError)",
        "mistakes": ["not-implemented"],
        "diagnosis": {"mistake": "not-implemented", "title": "Not implemented",
                      "explanation": "It still raises NotImplementedError.",
                      "next_step": "Implement it from the formula in the starter."},
        **({"feedback": feedback} if feedback else {}),
    }


def _result(checks: list[dict]) -> dict:
    return {
        "submission": "alice", "path": "softmax.py", "assignment": "softmax", "status": "graded",
        "score": sum(c["score"] for c in checks), "max_score": sum(c["max_score"] for c in checks),
        "checks": checks, "mistakes": sorted({m for c in checks for m in c["mistakes"]}),
    }


def _text(renderable, width: int = 200) -> str:
    console = Console(width=width, record=True, highlight=False)
    console.print(renderable)
    return console.export_text()


STARTER = _result(
    [_stub_check("softmax_loss", c, 1.0, feedback="Office hours on Tuesday.") for c in ("loss", "gradient", "stable", "hidden")]
    + [_stub_check("softmax", c, 0.5) for c in ("value", "stable")]
)


def test_check_collapses_a_stub_function_to_one_line():
    text = _text(result_view(STARTER))
    assert "softmax_loss: not implemented yet — 0/4 (4 checks)" in text
    assert "softmax: not implemented yet — 0/1 (2 checks)" in text
    assert text.count("not implemented yet") == 2, text  # not one block per check
    assert text.count("Next step:") == 1 and text.count("Office hours on Tuesday.") == 1, text
    assert "softmax_loss.gradient" not in text


def test_a_stub_next_to_a_real_failure_keeps_the_real_failure_in_full():
    real = dict(_stub_check("softmax", "value", 1.0), message="softmax differs from the reference",
                mistakes=["sign-flipped"], diagnosis={"mistake": "sign-flipped", "title": "Wrong sign"})
    text = _text(result_view(_result([_stub_check("softmax_loss", "loss", 1.0), real])))
    assert "softmax_loss: not implemented yet — 0/1 (1 check)" in text
    assert "softmax.value" in text and "softmax differs from the reference" in text
    assert "softmax: not implemented" not in text


def test_feedback_file_collapses_a_stub_function():
    md = feedback_markdown(STARTER)
    assert "### `softmax_loss`: not implemented yet (0 / 4)" in md
    assert "### `softmax`: not implemented yet (0 / 1)" in md
    assert "### softmax_loss.gradient" not in md
    assert md.count("Office hours on Tuesday.") == 1
    # the table still lists every check and its points
    assert md.count("| ❌ |") == 6


def test_feedback_file_keeps_the_next_step_of_an_unnamed_failure():
    unnamed = {
        "id": "softmax.value", "function": "softmax", "passed": False, "score": 0.0, "max_score": 1.0,
        "message": "softmax differs from the reference", "mistakes": [],
        "diagnosis": {"where": "row 3", "next_step": "Print softmax(z) for one small z and compare by hand."},
    }
    md = feedback_markdown(_result([unnamed]))
    assert "**Next step:** Print softmax(z) for one small z and compare by hand." in md
    # the same step `check` shows
    assert "Next step: Print softmax(z) for one small z and compare by hand." in _text(result_view(_result([unnamed])))


def test_piped_check_does_not_hard_wrap_at_80_columns(tmp_path: Path):
    result = CliRunner().invoke(
        app, ["check", str(sample_path("sign-flipped")), "-a", str(SOFTMAX)], env={"COLUMNS": ""}
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    failing = [line for line in lines if "✘ softmax_loss.gradient" in line]
    assert failing and len(failing[0]) > 80, lines  # the whole message on its line
    assert "fails on 4 of 4 cases" in failing[0]
    assert not any(line != line.rstrip() for line in lines), "no lines padded with spaces"


def test_starter_check_prints_one_line_per_function(tmp_path: Path):
    shutil.copyfile(SOFTMAX / "starter.py", tmp_path / "softmax.py")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "softmax.py"), "-a", str(SOFTMAX)])
    assert result.exit_code == 1, result.output
    assert "softmax_loss: not implemented yet — 0/4" in result.output
    assert result.output.count("raises NotImplementedError") == 0, result.output


def test_review_detail_view_collapses_a_stub_function():
    from gradgrader.tui.views import checks_view

    text = _text(checks_view(STARTER))
    assert "softmax_loss  0/4  not implemented yet (4 check(s))" in text
    assert "softmax_loss.gradient" not in text and "raises NotImplementedError" not in text


def test_gradebook_comment_says_extra_credit():
    from gradgrader.export.gradebook import summary_line

    r = dict(_result([]), score=12.0, max_score=10.0)
    assert summary_line(r).startswith("12/10, extra credit: ")
    assert "extra credit" not in summary_line(dict(r, score=10.0))
