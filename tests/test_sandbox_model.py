"""gradgrader/sandbox/model.py: the sandbox's value types; sanitize makes any text a child
sends valid UTF-8."""

from __future__ import annotations

import json

from conftest import assert_only_attacked_fail, attack, strings

from gradgrader.ingest import Submission
from gradgrader.results import dumps
from gradgrader.sandbox.runner import sanitize


def test_sanitize_makes_lone_surrogates_valid_utf8():
    text = sanitize("bad \udcff byte \ud800\x1b[2J")
    text.encode("utf-8")
    assert "\ufffd" in text and "\x1b" not in text


def test_an_exception_with_lone_surrogates_is_stored_as_valid_utf8(grader, tmp_path):
    result = grader.grade(Submission("surrogate", attack("lone-surrogate", tmp_path / "s"), None))
    assert_only_attacked_fail(result, {"softmax_jacobian"}, {"crashed"})
    line = dumps(result)
    line.encode("utf-8")  # the results writer's encoding
    for text in strings(json.loads(line)):
        text.encode("utf-8")
    jac = next(c for c in result.checks if c.function == "softmax_jacobian")
    assert "bad byte \ufffd" in jac.message
