"""gradgrader/export/feedback.py: the Markdown feedback file a student gets (feedback_markdown,
write_feedback)."""

from __future__ import annotations

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
