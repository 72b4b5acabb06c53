"""Assignment and rubric files: a mistake in either is a ConfigError that names the file
and the key, before anyone is graded; a rubric decides which checks run and their points."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES, SOFTMAX, copy_assignment, from_reference, write_submission

from gradgrader.assignment import load_assignment
from gradgrader.errors import ConfigError, GradgraderError
from gradgrader.grading import Grader
from gradgrader.ingest import Submission, single
from gradgrader.rubric import default_rubric, load_rubric, resolve_rubric
from gradgrader.spec import find_assignment

# ----------------------------------------------------------------- assignment.toml

# name -> (replacements in assignment.toml, text appended to it, words the error must contain)
BROKEN_ASSIGNMENTS = {
    "unknown-top-level-key": ({}, "\n[colour]\nred = 1\n", ["colour"]),
    "missing-assignment-file": ({'file = "softmax.py"\n': ""}, "", ["assignment.file", "missing"]),
    "file-not-a-python-file": (
        {'file = "softmax.py"': 'file = "softmax.ipynb"'},
        "",
        ["assignment.file", "softmax.ipynb"],
    ),
    "unknown-assignment-key": ({"seed = 20261123": "seed = 20261123\nsede = 1"}, "", ["sede"]),
    "check-names-unknown-function": (
        {'function = "logsumexp"\nkind = "compare"': 'function = "logsumexpp"\nkind = "compare"'},
        "",
        ["checks[0].function", "logsumexpp"],
    ),
    "unknown-check-kind": (
        {'kind = "compare"': 'kind = "comparre"'},
        "",
        ["logsumexp.value", "comparre"],
    ),
    "unknown-parameter-for-kind": (
        {'id = "logsumexp.value"\n': 'id = "logsumexp.value"\ntolerance = 1e-3\n'},
        "",
        ["logsumexp.value", "tolerance"],
    ),
    "missing-required-parameter": (
        {'mistake = "unstable-softmax"\n': ""},
        "",
        ["logsumexp.stable", "mistake"],
    ),
    "check-output-not-an-output": (
        {'output = "loss"': 'output = "cost"'},
        "",
        ["softmax_loss.loss", "cost"],
    ),
    "unknown-case": (
        {'cases = ["small", "medium"': 'cases = ["small", "huge"'},
        "",
        ["checks[0].cases", "huge"],
    ),
    "duplicate-check-id": (
        {'id = "softmax.value"': 'id = "logsumexp.value"'},
        "",
        ["checks[2].id", "logsumexp.value"],
    ),
    "negative-shape-entry": (
        {
            'returns = { name = "S", shape = ["N", "K"] }': 'returns = { name = "S", shape = ["N", -1] }'
        },
        "",
        ["functions.softmax.returns[0].shape", "-1"],
    ),
    "float-shape-entry": (
        {
            'returns = { name = "S", shape = ["N", "K"] }': 'returns = { name = "S", shape = ["N", 2.5] }'
        },
        "",
        ["functions.softmax.returns[0].shape", "2.5"],
    ),
    "shape-not-a-list": (
        {'returns = { name = "S", shape = ["N", "K"] }': 'returns = { name = "S", shape = "NK" }'},
        "",
        ["functions.softmax.returns[0].shape"],
    ),
    "argument-without-generator": (
        {'args = ["theta", "T"]': 'args = ["theta", "T", "bias"]'},
        "",
        ["functions.log_partition_grad.args", "bias"],
    ),
    "memory-too-small": (
        {"memory_mb = 1024": "memory_mb = 100"},
        "",
        ["assignment.memory_mb", "256"],
    ),
    "negative-timeout": ({"timeout = 10.0": "timeout = -1.0"}, "", ["assignment.timeout"]),
    "rtol-not-a-number": ({"rtol = 1e-5": 'rtol = "tight"'}, "", ["assignment.rtol", "tight"]),
    "case-dim-not-positive": (
        {"dims = { N = 6, D = 4, K = 3, M = 5 }": "dims = { N = 0, D = 4, K = 3, M = 5 }"},
        "",
        ["cases.small.dims", "N"],
    ),
    "diagnosis-names-unknown-output": (
        {'[diagnosis."softmax_loss.dW"]': '[diagnosis."softmax_loss.grad"]'},
        "",
        ["softmax_loss.grad"],
    ),
    "invalid-toml": ({"seed = 20261123": "seed = = 20261123"}, "", ["not valid TOML", "line"]),
}


def test_unbroken_copy_loads(tmp_path):
    spec = load_assignment(copy_assignment(tmp_path / "softmax"))
    assert spec.name == "softmax" and spec.filename == "softmax.py"
    assert [c.id for c in spec.checks] == [c.id for c in load_assignment("softmax").checks]


@pytest.mark.parametrize("case", sorted(BROKEN_ASSIGNMENTS))
def test_broken_assignment_is_a_config_error_naming_file_and_key(tmp_path, case):
    replacements, append, words = BROKEN_ASSIGNMENTS[case]
    folder = copy_assignment(tmp_path / "softmax", replacements, append)
    with pytest.raises(ConfigError) as info:
        load_assignment(folder)
    message = str(info.value)
    assert str((folder / "assignment.toml").resolve()) in message
    for word in words:
        assert word in message


# Names that are only looked up when inputs are generated or a check runs. A typo in
# one must still be reported when the assignment loads, before anyone is graded.
LATE_NAMES = {
    "unknown-generator": ({'z = { gen = "normal"': 'z = { gen = "normall"'}, "normall"),
    "unknown-hook-generator": (
        {'T = { gen = "hooks.with_constant_column"': 'T = { gen = "hooks.with_constant_colum"'},
        "with_constant_colum",
    ),
    "unknown-dimension": ({'classes = "K" }': 'classes = "Q" }'}, "Q"),
    "unknown-check-hook": ({'hook = "train_digits"': 'hook = "train_digitz"'}, "train_digitz"),
    "unknown-objective-hook": (
        {'objective = "log_partition"': 'objective = "log_partitio"'},
        "log_partitio",
    ),
    "unknown-diagnosis-coefficient": ({"coef = [-1, -1, -1]": 'coef = ["-Q", -1, -1]'}, "-Q"),
}


@pytest.mark.parametrize("case", sorted(LATE_NAMES))
def test_names_used_while_grading_are_checked_when_the_assignment_loads(tmp_path, case):
    replacements, word = LATE_NAMES[case]
    folder = copy_assignment(tmp_path / "softmax", replacements)
    with pytest.raises(ConfigError) as info:
        load_assignment(folder)
    assert str((folder / "assignment.toml").resolve()) in str(info.value)
    assert word in str(info.value)


def test_missing_reference_is_a_config_error_naming_it(tmp_path):
    folder = copy_assignment(tmp_path / "softmax")
    (folder / "reference.py").unlink()
    with pytest.raises(ConfigError, match="reference.py") as info:
        load_assignment(folder)
    assert str(folder.resolve()) in str(info.value)


def test_config_errors_are_gradgrader_errors():
    assert issubclass(ConfigError, GradgraderError)


# ----------------------------------------------------------------- find_assignment


def test_find_assignment_by_shipped_name():
    assert find_assignment("softmax") == SOFTMAX


def test_find_assignment_by_folder_path(tmp_path):
    folder = copy_assignment(tmp_path / "my-course-softmax")
    assert find_assignment(str(folder)) == folder.resolve()
    assert load_assignment(folder).root == folder.resolve()


def test_find_assignment_by_path_to_assignment_toml():
    assert find_assignment(str(SOFTMAX / "assignment.toml")) == SOFTMAX


def test_unknown_assignment_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as info:
        find_assignment("softmaxx")
    assert "'softmaxx'" in str(info.value) and "softmax" in str(info.value).replace(
        "'softmaxx'", ""
    )


def test_folder_without_assignment_toml_is_not_an_assignment(tmp_path):
    with pytest.raises(ConfigError, match="assignment.toml"):
        find_assignment(str(tmp_path))


# ----------------------------------------------------------------- rubrics

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


MARKER = "SOFTMAX-LOSS-WAS-CALLED"
# The reference, except that softmax_loss says when it runs.
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
