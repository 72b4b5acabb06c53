"""gradgrader.result: the one typed Result, its JSON (docs/result-schema.md) and back."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from conftest import ADVICE, result_with_advice

from gradgrader.distributed import result_from_json
from gradgrader.result import (
    AppliedOverride,
    CheckRecord,
    ConventionChoice,
    GraderFailure,
    Result,
    typed_extra,
)
from gradgrader.results import ResultsWriter, dumps, read_results


def test_every_sample_result_round_trips_exactly(graded_class: dict[str, Result]) -> None:
    assert len(graded_class) > 10
    for result in graded_class.values():
        obj = result.to_json()
        back = Result.from_json(obj)
        assert back.to_json() == obj
        assert back == result  # nothing lost on the way: the same typed result
        line = dumps(result)
        assert dumps(Result.from_json(json.loads(line))) == line  # byte for byte


def test_sample_results_carry_typed_fields(graded_class: dict[str, Result]) -> None:
    reference = graded_class["reference"]
    assert reference.gradgrader and reference.sandbox and reference.extra == {}
    assert all(r.grader_failure is None and r.grader_errors is None for r in graded_class.values())


def full() -> Result:
    check = CheckRecord("f.value", "f", False, 0.5, 2.0, "wrong sign", ("sign-flipped",), "value",
                        {"terms": ["a"]}, "because…", ({"case": 1},), ("copies its input",))
    return Result(
        "alice", "class/alice/f.py", "softmax", "graded", 0.5, 2.0, (check,), ("sign-flipped",), 0.25,
        message="", output="hi\n", sha256="ab" * 32, extra={"future_key": [1, 2]},
        late=True, lms={"kind": "canvas", "user_id": "7"}, notebook="class/alice/f.ipynb",
        gradgrader="1.2.3", sandbox="strong", grader_failure=GraderFailure("worker", "died"),
        convention=ConventionChoice("half", "½‖w‖²", True, {"f": "half"}, "a note"),
        timeouts=2, grader_errors=("f.value",), fingerprint="fp",
        override=AppliedOverride(1.5, 0.5, "ok", "ta", "2026-12-05T10:00:00Z"),
    )


def test_every_typed_field_is_written_where_extra_was_and_read_back() -> None:
    result = full()
    obj = result.to_json()
    assert obj["late"] is True and obj["lms"] == {"kind": "canvas", "user_id": "7"}
    assert obj["grader_failure"] == {"stage": "worker", "error": "died"}
    assert obj["convention"] == {"name": "half", "label": "½‖w‖²", "matched": True, "functions": {"f": "half"},
                                 "note": "a note"}
    assert obj["timeouts"] == 2 and obj["grader_errors"] == ["f.value"] and obj["fingerprint"] == "fp"
    assert obj["override"]["original_score"] == 0.5 and obj["future_key"] == [1, 2]
    assert obj["advice"] == ["f.value"]
    assert Result.from_json(obj) == result
    assert Result.from_json(obj).to_json() == obj


def test_unknown_and_mistyped_keys_are_kept_not_dropped() -> None:
    obj: dict[str, Any] = full().to_json()
    obj["checks"][0]["weight_hint"] = 3  # a newer gradgrader's check field
    obj["timeouts"] = "many"  # not a count: kept as it was, in extra
    obj["convention"] = {"name": "half"}  # not a whole convention
    back = Result.from_json(obj)
    assert back.timeouts is None and back.extra["timeouts"] == "many"
    assert back.convention is None and back.extra["convention"] == {"name": "half"}
    assert back.checks[0].extra == {"weight_hint": 3}
    assert back.to_json() == obj


def test_a_line_of_an_older_file_reads_with_empty_defaults() -> None:
    old = {"submission": "bob", "path": "bob.py", "assignment": "gmm", "status": "error", "score": 0,
           "max_score": 10, "checks": [], "mistakes": [], "elapsed_s": 0.1, "message": "SyntaxError"}
    back = Result.from_json(old)
    assert back.late is None and back.gradgrader is None and back.extra == {}
    assert back.to_json() == old


def test_scores_written_as_nan_text_read_back_as_numbers() -> None:
    obj = Result("x", "", "a", "graded", math.nan, 1.0, (), (), 0.0).to_json()
    line = dumps(Result.from_json(obj))
    assert json.loads(line)["score"] == "nan"
    assert math.isnan(Result.from_json(json.loads(line)).score)
    assert math.isnan(Result.from_json({"submission": "y", "score": [1]}).score)


def test_a_submissions_own_fields_become_typed() -> None:
    kwargs = typed_extra({"late": False, "lms": {"kind": "moodle"}, "notebook": "a.ipynb", "seat": 4})
    assert kwargs == {"late": False, "lms": {"kind": "moodle"}, "notebook": "a.ipynb", "extra": {"seat": 4}}


def test_a_result_is_changed_by_replace_never_in_place() -> None:
    result = Result("x", "", "a", "graded", 1.0, 1.0, (), (), 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.fingerprint = "fp"  # type: ignore[misc]
    stamped = dataclasses.replace(result, fingerprint="fp")
    assert stamped.to_json()["fingerprint"] == "fp" and "fingerprint" not in result.to_json()


def test_written_and_read_files_keep_every_key(tmp_path) -> None:
    writer = ResultsWriter(tmp_path, fresh=True)
    writer.write(full())
    writer.close()
    (line,) = read_results(tmp_path, everyone=True)
    assert Result.from_json(line) == full()


def test_the_error_result_of_a_grader_failure_is_typed(softmax, softmax_rubric, tmp_path) -> None:
    from gradgrader.grading import failure_result
    from gradgrader.ingest import Submission

    sub = Submission("carol", tmp_path / "softmax.py", None, "", {"late": True, "lms": {"kind": "canvas"}})
    result = failure_result(softmax, softmax_rubric, sub, "staging", "OSError: boom", sandbox="weak")
    assert result.grader_failure == GraderFailure("staging", "OSError: boom")
    assert result.late is True and result.lms == {"kind": "canvas"} and result.sandbox == "weak"
    assert result.extra == {}
    assert Result.from_json(result.to_json()) == result


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
