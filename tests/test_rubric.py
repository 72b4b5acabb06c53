"""gradgrader/rubric.py: a mistake in rubric.toml is a ConfigError that names the file and the
key; a rubric decides which checks run, their points and their feedback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES, from_reference, write_submission

from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import Submission, single
from gradgrader.rubric import default_rubric, load_rubric, resolve_rubric

# name -> (rubric text, words the error must contain)
BROKEN_RUBRICS = {
    "unknown-check-id": (
        'assignment = "softmax"\n[checks."softmax.nope"]\npoints = 1\n',
        ["softmax.nope"],
    ),
    "negative-points": ('[checks."softmax.value"]\npoints = -1\n', ["softmax.value", "points"]),
    "non-number-points": (
        '[checks."softmax.value"]\npoints = "two"\n',
        ["softmax.value", "points", "two"],
    ),
    "boolean-points": ('[checks."softmax.value"]\npoints = true\n', ["softmax.value", "points"]),
    "missing-points": ('[checks."softmax.value"]\npartial = true\n', ["softmax.value", "points"]),
    "wrong-assignment": (
        'assignment = "gmm"\n[checks."softmax.value"]\npoints = 1\n',
        ["'gmm'", "'softmax'"],
    ),
    "unknown-top-level-key": ('bonus = 2\n[checks."softmax.value"]\npoints = 1\n', ["bonus"]),
    "unknown-check-key": (
        '[checks."softmax.value"]\npoints = 1\nweight = 2\n',
        ["softmax.value", "weight"],
    ),
    "partial-not-boolean": (
        '[checks."softmax.value"]\npoints = 1\npartial = "yes"\n',
        ["softmax.value", "partial"],
    ),
    "empty": ("", ["checks"]),
    "no-checks": ('assignment = "softmax"\n', ["checks"]),
    "invalid-toml": ('[checks."softmax.value"\npoints = 1\n', ["not valid TOML"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN_RUBRICS))
def test_broken_rubric_is_a_config_error_naming_file_and_key(tmp_path, softmax, case):
    text, words = BROKEN_RUBRICS[case]
    path = tmp_path / "rubric.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rubric(path, softmax)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_missing_rubric_file_is_a_config_error(tmp_path, softmax):
    with pytest.raises(ConfigError, match="no such file"):
        resolve_rubric(softmax, tmp_path / "nope.toml")


def test_shipped_rubric_covers_every_check_for_ten_points(softmax, softmax_rubric):
    assert set(softmax_rubric.items) == {c.id for c in softmax.checks}
    assert softmax_rubric.max_score == 10.0


def test_default_rubric_gives_one_point_per_check(softmax):
    rubric = default_rubric(softmax)
    assert rubric.max_score == len(softmax.checks)


# The reference, except that softmax_loss says when it runs.
MARKER = "SOFTMAX-LOSS-WAS-CALLED"

MARKED_REFERENCE = from_reference(
    f"""
def softmax_loss(W, X, y, reg):
    print({MARKER!r})
    return _ref["softmax_loss"](W, X, y, reg)
"""
)


def _grade_with(softmax, rubric_text: str, tmp_path: Path, submissions: list[Submission]):
    path = tmp_path / "rubric.toml"
    path.write_text(rubric_text, encoding="utf-8")
    rubric = load_rubric(path, softmax)
    with Grader(softmax, rubric) as grader:
        return rubric, [grader.grade(s) for s in submissions]


def test_checks_dropped_from_the_rubric_are_not_run(tmp_path, softmax):
    marked = Submission("marked", write_submission(tmp_path / "marked", MARKED_REFERENCE), None)
    kept = ["logsumexp.value", "logsumexp.stable", "softmax.value"]
    text = 'assignment = "softmax"\n' + "".join(f'[checks."{cid}"]\npoints = 2\n' for cid in kept)
    rubric, [result] = _grade_with(softmax, text, tmp_path, [marked])
    assert [c.id for c in result.checks] == kept
    assert result.max_score == rubric.max_score == 6.0
    assert result.full_marks
    assert MARKER not in result.output  # softmax_loss was never called


def test_rubric_points_set_the_score(tmp_path, softmax):
    marked = Submission("marked", write_submission(tmp_path / "marked", MARKED_REFERENCE), None)
    flipped = single(SAMPLES / "sign-flipped", softmax.filename)
    text = """
assignment = "softmax"
[checks."logsumexp.value"]
points = 3
[checks."softmax_loss.loss"]
points = 1.5
[checks."softmax_loss.gradient"]
points = 4
"""
    rubric, [right, wrong] = _grade_with(softmax, text, tmp_path, [marked, flipped])
    assert rubric.max_score == right.max_score == wrong.max_score == 8.5
    assert right.score == 8.5 and MARKER in right.output  # the marker does show when the check runs
    assert {c.id: c.score for c in wrong.checks} == {
        "logsumexp.value": 3.0,
        "softmax_loss.loss": 1.5,
        "softmax_loss.gradient": 0.0,
    }
    assert wrong.score == 4.5


def test_partial_false_makes_a_check_all_or_nothing(tmp_path, softmax, graded_samples):
    # missing-normalization passes softmax_loss.gradient on the edge case only: a share of
    # the points by default (see the session's grading), none when partial = false.
    default = next(
        c for c in graded_samples["missing-normalization"].checks if c.id == "softmax_loss.gradient"
    )
    assert 0.0 < default.score < default.max_score
    sample = single(SAMPLES / "missing-normalization", softmax.filename)
    text = """
[checks."softmax_loss.gradient"]
points = 3
partial = false
[checks."softmax_loss.loss"]
points = 1
"""
    _, [result] = _grade_with(softmax, text, tmp_path, [sample])
    assert {c.id: c.score for c in result.checks} == {
        "softmax_loss.loss": 1.0,
        "softmax_loss.gradient": 0.0,
    }


def test_rubric_feedback_reaches_a_failing_check_only(graded_samples):
    text = "Office hours on Tuesday"
    flipped = next(
        c for c in graded_samples["sign-flipped"].checks if c.id == "softmax_loss.gradient"
    )
    right = next(
        c for c in graded_samples["correct-vectorized"].checks if c.id == "softmax_loss.gradient"
    )
    assert text in flipped.feedback and right.feedback == ""
