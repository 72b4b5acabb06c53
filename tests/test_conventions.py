"""Accepted conventions: each submission is graded against the one its own output follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradgrader.assignment import load_assignment
from gradgrader.authoring import scaffold, validate
from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.results import Result
from gradgrader.rubric import resolve_rubric

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
    assert results["half"].full_marks and results["half"].convention.name == "half"
    assert results["full"].full_marks and results["full"].convention.name == "full"
    assert results["full"].convention.matched is True


def test_a_gradient_of_one_convention_with_the_loss_of_the_other_is_wrong(tmp_path: Path) -> None:
    folder = make(tmp_path)
    spec = load_assignment(folder)
    with Grader(spec, resolve_rubric(spec)) as grader:
        mixed = grader.grade(next(s for s in discover(tmp_path / "class", spec.filename) if s.id == "mixed"))
    assert mixed.convention.name == "half"  # its loss follows the ½ convention
    failing = {c.id: c for c in mixed.checks if not c.passed}
    assert set(failing) == {"loss_and_grad.grad", "loss_and_grad.self_consistency"}
    assert "wrong-regularization" in failing["loss_and_grad.grad"].mistakes


# ----------------------------------------------------------------- per function (issue 15.2)
# Two functions, each deciding its own convention by its gradient, then its loss: a
# correct function is never failed for the other function's convention.

TWO = '''
[functions.fast]
args = ["w", "X", "y", "reg"]
returns = [{ name = "loss", shape = [] }, { name = "grad", shape = ["D"] }]

[[checks]]
id = "fast.loss"
function = "fast"
kind = "compare"
output = "loss"
cases = ["small", "medium"]

[[checks]]
id = "fast.grad"
function = "fast"
kind = "compare"
output = "grad"
cases = ["small", "medium"]

[conventions]
decide = { functions = ["loss_and_grad", "fast"], outputs = ["grad", "loss"], case = "medium" }
[conventions.options.half]
reference = "reference.py"
label = "(reg/2)‖w‖², gradient reg·w"
[conventions.options.full]
reference = "reference_full.py"
label = "reg‖w‖², gradient 2·reg·w"
'''
FAST_FULL = "\n\ndef fast(w, X, y, reg):\n    return loss_and_grad(w, X, y, reg)\n"
CRASHES = FULL.replace("    N = X.shape[0]", "    N = X.shape[0]\n    for i in xrange(N):\n        pass")  # Python 2
WRONG = FULL.replace("/ N + 2 * reg * w", "+ 2 * reg * w").replace("/ (2 * N)", "/ 2")  # never divided by N


def grade_two(tmp_path: Path, naive: str, fast: str) -> Result:
    folder = scaffold("ridge", tmp_path)
    reference = (folder / "reference.py").read_text()
    (folder / "reference.py").write_text(reference + FAST_FULL)
    (folder / "reference_full.py").write_text(FULL + FAST_FULL)
    (folder / "assignment.toml").write_text((folder / "assignment.toml").read_text() + TWO)
    rubric = '\n[checks."fast.loss"]\npoints = 2.0\n[checks."fast.grad"]\npoints = 3.0\n'
    (folder / "rubric.toml").write_text((folder / "rubric.toml").read_text() + rubric)
    # the student's fast() is the other file's loss_and_grad, renamed
    source = naive + "\n\n" + fast.replace("def loss_and_grad(", "def fast(")
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "ridge.py").write_text(source)
    spec = load_assignment(folder)
    assert validate(spec).ok
    rubric = resolve_rubric(spec)
    assert {"fast.loss", "fast.grad"} <= set(rubric.items)
    with Grader(spec, rubric) as grader:
        return grader.grade(next(iter(discover(tmp_path / "student", spec.filename))))


def half(tmp_path: Path) -> str:
    return (scaffold("probe", tmp_path / "probe") / "reference.py").read_text()


def failing_functions(result: Result) -> set[str]:
    return {c.function for c in result.checks if not c.passed}


def test_a_crashing_function_does_not_decide_the_other_ones_convention(tmp_path: Path) -> None:
    result = grade_two(tmp_path, CRASHES, half(tmp_path))
    assert failing_functions(result) == {"loss_and_grad"}
    assert result.convention.name == "half" and result.convention.matched
    assert result.convention.functions == {"loss_and_grad": "half", "fast": "half"}


def test_a_wrong_function_does_not_decide_the_other_ones_convention(tmp_path: Path) -> None:
    result = grade_two(tmp_path, WRONG, half(tmp_path))
    assert failing_functions(result) == {"loss_and_grad"}
    assert result.convention.functions == {"loss_and_grad": "half", "fast": "half"}


def test_two_correct_functions_in_different_conventions_both_pass_with_a_note(tmp_path: Path) -> None:
    result = grade_two(tmp_path, FULL, half(tmp_path))
    assert result.full_marks and result.mistakes == ()
    conv = result.convention
    assert conv is not None
    assert conv.name == "full" and conv.functions == {"loss_and_grad": "full", "fast": "half"}
    note = "Note: loss_and_grad follows reg‖w‖², gradient 2·reg·w; fast follows (reg/2)‖w‖², gradient reg·w."
    assert conv.note.startswith(note)
    # shown once, on the first check of the function graded in the other convention
    assert [c.id for c in result.checks if note in c.message] == ["fast.loss"]


def test_a_function_whose_gradient_follows_neither_is_decided_by_its_loss(tmp_path: Path) -> None:
    # loss_and_grad: the reg·‖w‖² loss with a sign-flipped gradient; fast: right, ½ convention.
    # The loss of loss_and_grad is right in the full convention, so it is graded there.
    flipped = FULL.replace("return float(r @ r) / (2 * N) + reg * float(w @ w), X.T @ r / N + 2 * reg * w",
                           "return float(r @ r) / (2 * N) + reg * float(w @ w), -(X.T @ r / N + 2 * reg * w)")
    assert flipped != FULL
    result = grade_two(tmp_path, flipped, half(tmp_path))
    assert result.convention.functions == {"loss_and_grad": "full", "fast": "half"}
    failing = {c.id for c in result.checks if not c.passed}
    assert "loss_and_grad.loss" not in failing and "loss_and_grad.grad" in failing
    assert not any(c.function == "fast" for c in result.checks if not c.passed)


def test_deciding_names_one_function_or_a_list_not_both(tmp_path: Path) -> None:
    folder = scaffold("ridge", tmp_path)
    (folder / "reference_full.py").write_text(FULL)
    both = CONVENTIONS.replace('decide = { function = "loss_and_grad",', 'decide = { function = "loss_and_grad", functions = ["loss_and_grad"],')
    (folder / "assignment.toml").write_text((folder / "assignment.toml").read_text() + both)
    with pytest.raises(ConfigError, match="needs exactly one of function"):
        load_assignment(folder)


def test_deciding_outputs_must_belong_to_every_deciding_function(tmp_path: Path) -> None:
    folder = scaffold("ridge", tmp_path)
    (folder / "reference_full.py").write_text(FULL)
    bad = CONVENTIONS.replace('output = "loss"', 'outputs = ["loss", "dW"]')
    (folder / "assignment.toml").write_text((folder / "assignment.toml").read_text() + bad)
    with pytest.raises(ConfigError, match="each have the outputs loss, dW"):
        load_assignment(folder)
