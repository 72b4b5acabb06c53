"""Ready to grade (gradgrader.loading): load the assignment, resolve the rubric, apply the
weak-sandbox policy, build the Grader — the one sequence every front end uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import gradgrader.loading as loading
from gradgrader.assignment import load_assignment
from gradgrader.cases import with_secret
from gradgrader.errors import SandboxError
from gradgrader.rubric import Rubric, resolve_rubric
from gradgrader.sandbox import layers

WEAK = layers.Isolation((layers.Layer("process", True, ""), layers.Layer("rlimits", True, "")))


class FakeGrader:
    """Records how it was built; starts no sandbox."""

    def __init__(self, assignment: Any, rubric: Any, jobs: int = 1, isolation: Any = None, hidden: Any = (), prestarted: Any = None) -> None:
        self.assignment, self.rubric, self.jobs, self.isolation, self.hidden = assignment, rubric, jobs, isolation, list(hidden)


def test_load_for_grading_mixes_the_secret_in_and_resolves_the_rubric() -> None:
    public = load_assignment("softmax")
    spec, rub = loading.load_for_grading("softmax", secret="course secret")
    assert spec.seed == with_secret(public, "course secret").seed != public.seed
    assert rub == resolve_rubric(public)
    same, _ = loading.load_for_grading(public)
    assert same.seed == public.seed  # no secret: the public inputs
    mine = Rubric("softmax", {}, "mine")
    assert loading.load_for_grading(public, mine)[1] is mine  # a rubric already resolved is kept


def test_open_grader_refuses_a_weak_sandbox_unless_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "probe", lambda: WEAK)
    monkeypatch.setattr(loading, "Grader", FakeGrader)
    with pytest.raises(SandboxError, match=r"^re-grading: refusing to grade other people's code"):
        loading.open_grader("softmax", where="re-grading: ")
    assert loading.open_grader("softmax", allow_weak=True).isolation is WEAK
    assert loading.open_grader("softmax", strict=False).isolation is WEAK  # a student's own file


def test_open_grader_uses_the_isolation_it_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_probe() -> None:
        raise AssertionError("the caller probed already")

    monkeypatch.setattr(layers, "probe", no_probe)
    monkeypatch.setattr(loading, "Grader", FakeGrader)
    grader = loading.open_grader("gmm", isolation=WEAK, jobs=3, hidden=[tmp_path], secret="s")
    assert (grader.isolation, grader.jobs, grader.hidden) == (WEAK, 3, [tmp_path])
    assert grader.assignment.name == "gmm" and grader.assignment.seed == with_secret(load_assignment("gmm"), "s").seed
