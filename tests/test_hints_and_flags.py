"""Friendly hints for common failures, CSV safety, the grader-error flag, stability naming."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.grading import Grader
from gradgrader.hints import hint_for
from gradgrader.ingest import single
from gradgrader.results import grades_csv
from gradgrader.rubric import resolve_rubric
from gradgrader.spec import load_assignment

ROOT = Path(__file__).resolve().parents[1]
SOFTMAX = ROOT / "assignments" / "softmax"
CORRECT = (SOFTMAX / "samples" / "correct-vectorized" / "softmax.py").read_text()
runner = CliRunner()


@pytest.mark.parametrize(
    ("exc_type", "message", "words"),
    [
        ("SyntaxError", "Missing parentheses in call to 'print'. Did you mean print(...)?", "written for Python 2"),
        ("NameError", "name 'xrange' is not defined", "written for Python 2"),
        ("NameError", "name 'raw_input' is not defined", "written for Python 2"),
        ("AttributeError", "'dict' object has no attribute 'iteritems'", "items()"),
        ("ModuleNotFoundError", "No module named 'past'", "future"),
        ("AttributeError", "module 'numpy' has no attribute 'float'.\n`np.float` was a deprecated alias", "numpy 1.24"),
        ("AttributeError", "module 'numpy' has no attribute 'asscalar'", "numpy 2"),
        ("EOFError", "EOF when reading a line", "input()"),
        ("BdbQuit", "", "pdb.set_trace()"),
        ("FileNotFoundError", "[Errno 2] No such file or directory: 'weights.npy'", "empty folder"),
        ("ModuleNotFoundError", "No module named 'scipy'", "only numpy and the standard library"),
    ],
)
def test_common_failures_get_a_hint(exc_type: str, message: str, words: str) -> None:
    assert words in hint_for(exc_type, message)


def test_an_ordinary_exception_gets_no_hint() -> None:
    assert hint_for("ValueError", "shapes (3,4) and (5,) not aligned") == ""


def test_a_removed_numpy_name_is_explained_in_the_check_message(tmp_path: Path) -> None:
    (tmp_path / "softmax.py").write_text(CORRECT.replace("float(c + np.log", "float(np.float(c) + np.log"))
    spec = load_assignment("softmax")
    with Grader(spec, resolve_rubric(spec)) as grader:
        result = grader.grade(single(tmp_path / "softmax.py", spec.filename))
    message = next(c.message for c in result.checks if c.id == "logsumexp.value")
    assert "raised AttributeError: module 'numpy' has no attribute 'float'. …" in message
    assert "removed in numpy 1.24" in message


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)"])
def test_grades_csv_neutralises_spreadsheet_formulas_in_ids(name: str) -> None:
    row = {"submission": name, "score": 1.0, "max_score": 2.0, "status": "graded", "mistakes": []}
    import csv
    import io

    cell = list(csv.reader(io.StringIO(grades_csv([row]))))[1][0]
    assert cell == "'" + name


def test_nan_everywhere_is_nan_output_not_an_instability(tmp_path: Path) -> None:
    source = CORRECT.replace("return e / e.sum(axis=1, keepdims=True)", "return e / e.sum(axis=1, keepdims=True) * np.nan")
    assert source != CORRECT
    (tmp_path / "softmax.py").write_text(source)
    spec = load_assignment("softmax")
    with Grader(spec, resolve_rubric(spec)) as grader:
        result = grader.grade(single(tmp_path / "softmax.py", spec.filename))
    stable = next(c for c in result.checks if c.id == "softmax.stable")
    assert not stable.passed and stable.mistakes == ("nan-output",)
    assert "unstable-softmax" not in result.mistakes


def broken_hook_assignment(tmp_path: Path) -> Path:
    copy = tmp_path / "softmax-copy"
    shutil.copytree(SOFTMAX, copy, ignore=shutil.ignore_patterns("samples"))
    shutil.copy(ROOT / "rubrics" / "softmax.toml", copy / "rubric.toml")
    hooks = copy / "hooks.py"
    hooks.write_text(hooks.read_text().replace(
        '    """Gradient descent with the student\'s softmax_loss lowers the loss and learns."""',
        '    """Gradient descent with the student\'s softmax_loss lowers the loss and learns."""\n'
        '    raise RuntimeError("the course broke this hook")',
    ))
    return copy


def test_a_failing_course_hook_is_flagged_for_the_ta_and_loses_no_result(tmp_path: Path) -> None:
    copy = broken_hook_assignment(tmp_path)
    cls = tmp_path / "class" / "alice"
    cls.mkdir(parents=True)
    (cls / "softmax.py").write_text(CORRECT)
    out = tmp_path / "out"
    # The reference fails the broken check too: --skip-validation lets the run go ahead.
    refused = runner.invoke(app, ["grade", str(tmp_path / "class"), "-a", str(copy), "-o", str(out), "--allow-weak-sandbox"])
    assert refused.exit_code == 2 and "fails its own validation" in refused.stderr
    result = runner.invoke(app, ["grade", str(tmp_path / "class"), "-a", str(copy), "-o", str(out), "--skip-validation", "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.stderr
    assert "hit a problem in the assignment itself" in result.stderr and "alice" in result.stderr
    import json

    line = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert line["grader_errors"] == ["softmax_loss.training"]
    training = next(c for c in line["checks"] if c["id"] == "softmax_loss.training")
    assert training["mistakes"] == ["grader-error"] and "not in your code" in training["message"]
    assert sum(c["passed"] for c in line["checks"]) == len(line["checks"]) - 1
