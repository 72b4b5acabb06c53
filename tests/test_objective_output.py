"""objective_gradient on a function returning (loss, grad) (issue #19): ``output`` names
the checked gradient, ``objective_output`` the output of the objective differentiated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from gradgrader.assignment import load_assignment
from gradgrader.authoring import validate
from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.rubric import resolve_rubric

FOLDER = ROOT / "tests" / "assignments" / "logistic-fd"


def test_a_loss_and_grad_function_is_checked_against_its_own_loss() -> None:
    spec = load_assignment(FOLDER)
    assert validate(spec).ok  # the reference passes: before, its loss was taken for the gradient
    with Grader(spec, resolve_rubric(spec)) as grader:
        results = {r.submission: r.to_json() for r in grader.grade_all(discover(FOLDER / "samples", spec.filename))}
    assert results["correct"]["score"] == results["correct"]["max_score"] == 5
    failing = {c["id"] for c in results["sign-flipped"]["checks"] if not c["passed"]}
    assert failing == {"loss_and_grad.finite_differences", "loss_and_grad.hook_differences"}
    assert results["sign-flipped"]["mistakes"] == ["sign-flipped"]


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "logistic-fd"
    shutil.copytree(FOLDER, folder)
    toml = folder / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # several outputs and no `output`: the first (the loss) was silently taken
        ('objective_output = "loss"\noutput = "grad"\n', 'objective_output = "loss"\n', 'which one is the gradient with output = "NAME"'),
        ('objective_output = "loss"\n', "", 'say which one to differentiate with objective_output = "NAME"'),
        ('objective_output = "loss"\n', 'objective_output = "grad"\n', "has shape ['D']; it must be one number"),
        ('objective_output = "loss"\n', 'objective_output = "cost"\n', "'cost' is not an output of loss_and_grad"),
        ('objective = "loss"\noutput', 'objective = "loss"\nobjective_output = "loss"\noutput', "is a hook"),
    ],
)
def test_unclear_objective_options_are_refused_with_a_reason(tmp_path: Path, old: str, new: str, said: str) -> None:
    with pytest.raises(ConfigError, match="loss_and_grad") as info:
        load_assignment(_edited(tmp_path, old, new))
    assert said in str(info.value)


def test_a_student_pack_replays_the_objective_function(tmp_path: Path) -> None:
    """The pack has no reference: the objective's values at the perturbed points are
    recorded when it is made and replayed when a student checks."""
    from gradgrader.pack import make_pack

    pack = make_pack(str(FOLDER), tmp_path / "pack")
    assert not (pack / "reference.py").exists()
    spec = load_assignment(pack)
    with Grader(spec, resolve_rubric(spec)) as grader:
        results = {r.submission: r.to_json() for r in grader.grade_all(discover(FOLDER / "samples", spec.filename))}
    assert results["correct"]["score"] == results["correct"]["max_score"]
    assert not {c["id"]: c["passed"] for c in results["sign-flipped"]["checks"]}["loss_and_grad.finite_differences"]
