"""Gradescope autograder mode: grade ``/autograder/submission``, write
``/autograder/results/results.json`` in Gradescope's format.

The format (Gradescope's "Autograder Specifications", results.json): a top-level
``score`` (it overrides the sum of the tests), ``execution_time`` in seconds, ``output``
shown above the tests, and ``tests``: one per check, each with ``name``, ``score``,
``max_score``, ``status`` ("passed"/"failed"), ``output`` (text in a collapsed block) and
``visibility`` (``visible``, ``hidden``, ``after_due_date`` or ``after_published``).
:data:`RESULTS_SCHEMA` is that format as a JSON schema. A submission that cannot be
loaded gets one failed test ("loading softmax.py") worth the whole assignment, so the
student sees why. results.json is written even when grading itself fails (the
autograder's configuration is wrong), with a score of 0 and the reason, then the error
is raised again.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gradgrader.export.gradebook import number
from gradgrader.result import CheckRecord, Result, as_result

SUBMISSION = Path("/autograder/submission")
RESULTS = Path("/autograder/results/results.json")
VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")

_VIS = {"type": "string", "enum": list(VISIBILITY)}
_FORMAT = {"type": "string", "enum": ["text", "html", "simple_format", "md", "ansi"]}
RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Gradescope autograder results.json",
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": _FORMAT,
        "test_output_format": _FORMAT,
        "test_name_format": _FORMAT,
        "visibility": _VIS,
        "stdout_visibility": _VIS,
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"type": "string", "enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "name_format": _FORMAT,
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": _FORMAT,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": _VIS,
                    "extra_data": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "leaderboard": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "value": {"type": ["number", "string"]},
                    "order": {"type": "string", "enum": ["asc", "desc"]},
                },
                "required": ["name", "value"],
            },
        },
    },
    # Gradescope needs a score somewhere: at the top, or on every test.
    "anyOf": [
        {"required": ["score"]},
        {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}},
    ],
    "additionalProperties": False,
}


def _points(x: float) -> float:
    """A score Gradescope can read: a finite number (an unknown one counts as 0)."""
    return float(x) if math.isfinite(x) else 0.0


def _test_name(check: CheckRecord) -> str:
    cid, fn = check.id, check.function
    return f"{fn}: {cid[len(fn) + 1 :]}" if fn and cid.startswith(fn + ".") else cid


def _check_output(check: CheckRecord) -> str:
    parts = [check.message.strip()]
    d = check.diagnosis or {}
    if not check.passed:
        if d.get("where"):
            parts.append(f"Where: {d['where']}")
        if d.get("title"):
            parts.append(
                f"Diagnosis: {d['title']}" + (f" ({d['mistake']})" if d.get("mistake") else "")
            )
        elif d.get("mistake"):
            parts.append(f"Diagnosis: {d['mistake']}")
        if d.get("explanation"):
            parts.append(str(d["explanation"]).strip())
        if d.get("next_step"):
            parts.append(f"Next step: {str(d['next_step']).strip()}")
        if check.feedback:
            parts.append(f"From the course staff: {check.feedback.strip()}")
    return "\n\n".join(p for p in parts if p)


def results_json(
    result: Result | Mapping[str, Any], filename: str = "", visibility: str = "visible"
) -> dict[str, Any]:
    """Gradescope's results.json for one result (typed, or its JSON: docs/result-schema.md)."""
    if visibility not in VISIBILITY:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITY)}, not {visibility!r}")
    r = as_result(result)
    score, max_score = _points(r.score), _points(r.max_score)
    tests: list[dict[str, Any]] = []
    if r.status != "graded":
        tests.append(
            {
                "name": f"loading {filename or 'your file'}",
                "score": 0.0,
                "max_score": max_score,
                "status": "failed",
                "output": r.message or "the file could not be loaded",
                "visibility": visibility,
            }
        )
    for check in r.checks:
        tests.append(
            {
                "name": _test_name(check),
                "score": _points(check.score),
                "max_score": _points(check.max_score),
                "status": "passed" if check.passed else "failed",
                "output": _check_output(check),
                "visibility": visibility,
            }
        )
    summary = f"Score: {number(score)} / {number(max_score)}."
    if r.status != "graded":
        summary += f" {r.message}".rstrip()
    elif r.mistakes:
        summary += (
            " Mistakes recognised: "
            + ", ".join(r.mistakes)
            + ". Each failing test below explains its own."
        )
    else:
        failed = sum(1 for t in tests if t["status"] == "failed")
        summary += (
            " Every check passed." if not failed else f" {failed} check(s) failed; see below."
        )
    return {
        "score": score,
        "execution_time": round(_points(r.elapsed_s), 3),
        "output": summary,
        "visibility": visibility,
        "tests": tests,
        "extra_data": {
            "gradgrader": r.gradgrader or "",
            "status": r.status,
            "mistakes": list(r.mistakes),
        },
    }


def write_results(path: Path, data: Mapping[str, Any]) -> None:
    from gradgrader.results import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def run_autograder(
    assignment: str | Path,
    submission: Path = SUBMISSION,
    results: Path = RESULTS,
    rubric: Path | None = None,
    visibility: str = "visible",
    isolation: Any = None,
) -> dict[str, Any]:
    """Grade the one submission in ``submission`` (a folder: the file the assignment
    names, else the only .py/.ipynb) and write Gradescope's ``results`` file. Returns what
    was written. ``isolation`` is the sandbox's (or a function returning it, called
    here, so that a refusal still writes results); without one, a weak sandbox is refused
    (``sandbox.layers.require_isolation``). Configuration errors still write a
    results file (score 0, the reason in ``output``) and are raised again."""
    from gradgrader.assignment import load_assignment
    from gradgrader.errors import ConfigError, SubmissionError
    from gradgrader.ingest import submission_in
    from gradgrader.loading import load_for_grading, open_grader
    from gradgrader.pack import is_pack
    from gradgrader.secret import course_secret

    start = time.perf_counter()
    try:
        if visibility not in VISIBILITY:
            raise ValueError(
                f"visibility must be one of {', '.join(VISIBILITY)}, not {visibility!r}"
            )
        spec = load_assignment(assignment)
        if is_pack(spec.root):
            # A wheel install holds student packs only: grading from one would score the
            # public cases without the hidden ones or the course's hooks — not the course's grade.
            raise ConfigError(
                f"{spec.root} is a student pack, not the course's assignment (a wheel install ships "
                "packs only): put the assignment folder and its rubric in the autograder zip and pass "
                "--assignment /autograder/source/assignments/NAME, or set GRADGRADER_HOME to a folder "
                "holding assignments/ and rubrics/"
            )
        # Course grading: inputs from the course's secret ($GRADGRADER_SECRET or the
        # assignment's secret.txt; without one, a new one for this run).
        spec, rub = load_for_grading(spec, rubric, course_secret(spec)[0])
        if not submission.is_dir():
            raise SubmissionError(
                f"{submission}: no such folder (Gradescope puts the student's files there)"
            )
        iso = isolation() if callable(isolation) else isolation
        with tempfile.TemporaryDirectory(prefix="gradgrader-notebooks-") as cache:
            sub = submission_in("submission", submission, spec.filename, Path(cache))
            with open_grader(spec, rub, isolation=iso) as grader:
                result = sub.relocate(grader.grade(sub))
    except BaseException as exc:
        write_results(
            results,
            {
                "score": 0.0,
                "execution_time": round(time.perf_counter() - start, 3),
                "output": f"The autograder could not run ({type(exc).__name__}: {exc}). This is not about your code: "
                "tell the course staff.",
                "visibility": visibility if visibility in VISIBILITY else "visible",
                "tests": [],
            },
        )
        raise
    data = results_json(result, spec.filename, visibility)
    data["execution_time"] = round(time.perf_counter() - start, 3)
    write_results(results, data)
    return data
