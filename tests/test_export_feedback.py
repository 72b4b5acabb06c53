"""gradgrader/export/feedback.py: the Markdown feedback file a student gets (feedback_markdown,
write_feedback)."""

from __future__ import annotations

import pytest
from conftest import STARTER, _result, _text, result_with_advice, student

from gradgrader.export.feedback import feedback_markdown, write_feedback
from gradgrader.ingest import discover
from gradgrader.render import result_view
from gradgrader.results import Result


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


def test_the_real_alice_gets_alice_md(tmp_path):
    cls = tmp_path / "class"
    student(cls, " alice")
    student(cls, "alice")
    subs = discover(cls, "softmax.py", tmp_path / "cache")
    rows = [{"submission": s.id, "score": 1.0, "max_score": 1.0, "status": "graded", "checks": [],
             "mistakes": [], "path": str(s.path)} for s in reversed(subs)]
    files = write_feedback(tmp_path / "feedback", rows)
    assert sorted(p.name for p in files)[0] == "alice.md"
    assert len(files) == 2 and not any(p.name == "alice-2.md" for p in files)


@pytest.mark.parametrize("text", [
    "plain words", "", "a|b", "x*y", "[link](u)", "<b>", "back\\slash", "tick`", "bell\x07", "tab\tand\nnewline",
    "\x7f", "unicode Σ ∂ ✔", 3.5, None, "mixed *[<|\x01",
])
def test_escaping_gives_what_both_substitutions_give(text):
    """``escape`` skips the substitutions when there is nothing to replace (#17): the same
    text as always doing both."""
    import re

    from gradgrader.export.feedback import escape

    special, control = re.compile(r"([\\`*\[\]<>|])"), re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
    assert escape(text) == special.sub(r"\\\1", control.sub("", str(text)))


def test_a_score_is_written_the_same_the_second_time_and_equal_numbers_alike():
    from gradgrader.report import points

    def written(x, places):
        text = f"{x:.{places}f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text

    values = [0, 0.0, -0.0, 1, 1.0, 0.25, 7.125, 2 / 3, -1.5, 10**20, 1e20, 2**53 + 1, 1e-9, -1e-9]
    for places in (2, 4):
        for _ in range(2):  # the second time from the table
            for x in values:
                assert points(x, places) == written(x, places), (x, places)
    assert points(float("nan")) == points(True) == points("1") == "?"
    from gradgrader import report

    assert report._POINTS[(0.25, 2)] == "0.25"  # remembered, not formatted again (#17)
