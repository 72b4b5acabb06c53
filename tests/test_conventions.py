"""Accepted conventions: each submission is graded against the one its own output follows."""

from __future__ import annotations

from pathlib import Path

from gradgrader.authoring import scaffold, validate
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.rubric import resolve_rubric
from gradgrader.spec import load_assignment

FULL = '''import numpy as np


def loss_and_grad(w, X, y, reg):
    N = X.shape[0]
    r = X @ w - y
    return float(r @ r) / (2 * N) + reg * float(w @ w), X.T @ r / N + 2 * reg * w
'''
MIXED = FULL.replace("+ reg * float(w @ w)", "+ 0.5 * reg * float(w @ w)")  # ½ in the loss, 2·reg·w in the gradient

CONVENTIONS = '''
[conventions]
decide = { function = "loss_and_grad", output = "loss", case = "medium" }
[conventions.options.half]
reference = "reference.py"
label = "(reg/2)‖w‖², gradient reg·w"
[conventions.options.full]
reference = "reference_full.py"
label = "reg‖w‖², gradient 2·reg·w"
'''


def make(tmp_path: Path) -> Path:
    folder = scaffold("ridge", tmp_path)
    (folder / "reference_full.py").write_text(FULL)
    (folder / "assignment.toml").write_text((folder / "assignment.toml").read_text() + CONVENTIONS)
    cls = tmp_path / "class"
    for sid, source in {
        "half": (folder / "reference.py").read_text(),
        "full": FULL,
        "mixed": MIXED,
    }.items():
        (cls / sid).mkdir(parents=True)
        (cls / sid / "ridge.py").write_text(source)
    return folder


def test_each_convention_gets_full_marks_and_is_reported(tmp_path: Path) -> None:
    folder = make(tmp_path)
    spec = load_assignment(folder)
    assert validate(spec).ok
    with Grader(spec, resolve_rubric(spec)) as grader:
        results = {r.submission: r for r in grader.grade_all(discover(tmp_path / "class", spec.filename))}
    assert results["half"].full_marks and results["half"].extra["convention"]["name"] == "half"
    assert results["full"].full_marks and results["full"].extra["convention"]["name"] == "full"
    assert results["full"].extra["convention"]["matched"] is True


def test_a_gradient_of_one_convention_with_the_loss_of_the_other_is_wrong(tmp_path: Path) -> None:
    folder = make(tmp_path)
    spec = load_assignment(folder)
    with Grader(spec, resolve_rubric(spec)) as grader:
        mixed = grader.grade(next(s for s in discover(tmp_path / "class", spec.filename) if s.id == "mixed"))
    assert mixed.extra["convention"]["name"] == "half"  # its loss follows the ½ convention
    failing = {c.id: c for c in mixed.checks if not c.passed}
    assert set(failing) == {"loss_and_grad.grad", "loss_and_grad.self_consistency"}
    assert "wrong-regularization" in failing["loss_and_grad.grad"].mistakes
