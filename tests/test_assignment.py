"""gradgrader/assignment.py: load_assignment (parse + resolve + validate). A mistake in
assignment.toml is a ConfigError that names the file and the key, before anyone is graded."""

from __future__ import annotations

import pytest
from conftest import copy_assignment

from gradgrader.assignment import load_assignment
from gradgrader.errors import ConfigError, GradgraderError

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

