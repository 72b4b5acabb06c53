"""Every check kind at once, in process: each graded sample of the softmax and gmm
courses, run through the real checks with the fake caller, names exactly the mistakes
and failing functions its EXPECTED.toml lists (test_assignments_softmax.py and
test_assignments_gmm.py grade the same samples through the sandbox)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fakecaller import caller_for, run_on

from gradgrader.assignment import load_assignment
from gradgrader.checks.prepared import Course

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COURSES = {name: Course(load_assignment(name)) for name in ("softmax", "gmm")}


def samples() -> list[tuple[str, str]]:
    out = []
    for name, course in COURSES.items():
        expected = tomllib.loads((course.assignment.root / "samples" / "EXPECTED.toml").read_text(encoding="utf-8"))
        out += [(name, sample) for sample, e in expected.items() if e["status"] == "graded"]
    return out


def graded_file(course: Course, sample: str) -> Path:
    folder = course.assignment.root / "samples" / sample
    return folder / course.assignment.filename if folder.is_dir() else folder.with_name(sample + ".py")


@pytest.mark.parametrize(("name", "sample"), samples())
def test_a_sample_names_its_expected_mistakes_in_process(name: str, sample: str) -> None:
    course = COURSES[name]
    expected = tomllib.loads((course.assignment.root / "samples" / "EXPECTED.toml").read_text(encoding="utf-8"))[sample]
    caller = caller_for(course, graded_file(course, sample))
    results = [run_on(course, check.id, caller) for check in course.assignment.checks]
    failing = {r.function for r in results if not r.passed}
    assert sorted({m for r in results for m in r.mistakes}) == sorted(expected["mistakes"])
    assert failing == set(expected["failing_functions"])
    assert all(r.passed for r in results) == expected["full_marks"]
