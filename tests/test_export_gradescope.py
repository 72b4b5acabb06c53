"""Gradescope autograder mode writes a results.json that follows Gradescope's documented
format (validated against RESULTS_SCHEMA), for a good submission, a broken one and a
misconfigured autograder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import SAMPLES

from gradgrader.errors import GradgraderError
from gradgrader.export import RESULTS_SCHEMA, results_json, run_autograder

try:  # the real validator when the venv has it; the small one below otherwise
    import jsonschema
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema = None

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _is(value: Any, kind: str) -> bool:
    if kind in ("number", "integer"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok and (kind == "number" or float(value).is_integer())
    return isinstance(value, _TYPES[kind])


def violations(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The JSON-schema keywords RESULTS_SCHEMA uses (type, enum, minimum, properties,
    required, additionalProperties: false, items, anyOf), checked by hand."""
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            return [f"{where}: {type(value).__name__} is not {'/'.join(kinds)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        errors.append(f"{where}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: missing {key!r}")
        for key, item in value.items():
            if key in props:
                errors += violations(item, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected key {key!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += violations(item, schema["items"], f"{where}[{i}]")
    if "anyOf" in schema and all(violations(value, alt, where) for alt in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    return errors


def assert_valid(data: dict[str, Any]) -> None:
    assert violations(data, RESULTS_SCHEMA) == []
    if jsonschema is not None:
        jsonschema.validate(data, RESULTS_SCHEMA)


def test_the_validator_catches_what_gradescope_would_reject():
    assert violations({"tests": [{"name": "x"}]}, RESULTS_SCHEMA)  # no score anywhere
    assert violations({"score": 1, "visibility": "students"}, RESULTS_SCHEMA)
    assert violations({"score": 1, "tests": [{"score": 1, "status": "ok"}]}, RESULTS_SCHEMA)
    assert violations({"score": "1"}, RESULTS_SCHEMA)
    assert violations({"score": 1, "tests": [{"score": 1, "bogus": 2}]}, RESULTS_SCHEMA)
    assert (
        violations(
            {"score": 1, "tests": [{"score": 1, "status": "passed", "max_score": 1}]},
            RESULTS_SCHEMA,
        )
        == []
    )


def notebook_of(source: str) -> str:
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "%matplotlib inline\n",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": source,
        },
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_autograder_grades_a_notebook_and_writes_valid_results(tmp_path):
    submission = tmp_path / "autograder" / "submission"
    submission.mkdir(parents=True)
    (submission / "softmax.ipynb").write_text(
        notebook_of((SAMPLES / "sign-flipped" / "softmax.py").read_text())
    )
    results = tmp_path / "autograder" / "results" / "results.json"
    data = run_autograder("softmax", submission=submission, results=results)
    written = json.loads(results.read_text())
    assert written == data
    assert_valid(written)
    assert 0 < written["score"] < 10
    assert written["score"] == pytest.approx(sum(t["score"] for t in written["tests"]))
    assert sum(t["max_score"] for t in written["tests"]) == pytest.approx(10)
    failed = [t for t in written["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] < t["max_score"] for t in failed)
    gradient = next(t for t in written["tests"] if t["name"] == "softmax_loss: gradient")
    assert "Diagnosis: The gradient has the wrong sign (sign-flipped)" in gradient["output"]
    assert "Next step:" in gradient["output"]
    assert "sign-flipped" in written["output"] and written["extra_data"]["status"] == "graded"
    assert all(t["visibility"] == "visible" for t in written["tests"])


def test_autograder_explains_a_file_that_does_not_load(tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "softmax.py").write_text((SAMPLES / "syntax-error" / "softmax.py").read_text())
    results = tmp_path / "results.json"
    data = run_autograder(
        "softmax", submission=submission, results=results, visibility="after_due_date"
    )
    assert_valid(data)
    assert data["score"] == 0 and data["visibility"] == "after_due_date"
    [test] = data["tests"]
    assert (
        test["name"] == "loading softmax.py"
        and test["status"] == "failed"
        and test["max_score"] == 10
    )
    assert "syntax error on line" in test["output"]


def test_autograder_misconfiguration_still_writes_results(tmp_path):
    results = tmp_path / "results.json"
    with pytest.raises(GradgraderError):
        run_autograder("no-such-assignment", submission=tmp_path, results=results)
    data = json.loads(results.read_text())
    assert_valid(data)
    assert data["score"] == 0 and "not about your code" in data["output"]


def test_results_json_of_a_recorded_result_is_valid():
    result = {
        "submission": "s",
        "assignment": "softmax",
        "status": "graded",
        "score": 1.5,
        "max_score": 2.0,
        "mistakes": ["transposed"],
        "elapsed_s": 0.3,
        "checks": [
            {
                "id": "softmax_loss.gradient",
                "function": "softmax_loss",
                "passed": False,
                "score": 0.5,
                "max_score": 1.0,
                "message": "dW is transposed",
                "mistakes": ["transposed"],
                "diagnosis": {
                    "mistake": "transposed",
                    "title": "Transposed",
                    "explanation": "Rows are columns.",
                    "where": "",
                },
            },
            {
                "id": "logsumexp.value",
                "function": "logsumexp",
                "passed": True,
                "score": 1.0,
                "max_score": 1.0,
                "message": "ok",
            },
        ],
    }
    data = results_json(result, "softmax.py", visibility="hidden")
    assert_valid(data)
    assert [t["name"] for t in data["tests"]] == ["softmax_loss: gradient", "logsumexp: value"]
    assert data["tests"][0]["status"] == "failed" and data["tests"][1]["status"] == "passed"
    with pytest.raises(ValueError):
        results_json(result, visibility="students")


def test_autograder_refuses_a_student_pack(tmp_path):
    # A wheel install holds packs only: grading from one would leave out the hidden cases
    # and the course's hooks, so the autograder says what to upload instead.
    from pathlib import Path

    results = tmp_path / "results.json"
    pack = Path(__file__).resolve().parents[1] / "packs" / "softmax"
    (tmp_path / "sub").mkdir()
    with pytest.raises(GradgraderError, match="student pack"):
        run_autograder(str(pack), submission=tmp_path / "sub", results=results)
    data = json.loads(results.read_text())
    assert data["score"] == 0.0 and "student pack" in data["output"]
