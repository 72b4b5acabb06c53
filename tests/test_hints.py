"""gradgrader/hints.py: friendly hints for common failures (Python 2 code, removed numpy
names, ...) and the runtime texts a check shows for code that did not run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CORRECT, SOFTMAX_SAMPLES, _check_json

from gradgrader.assignment import load_assignment
from gradgrader.grading import Grader
from gradgrader.hints import hint_for
from gradgrader.ingest import single
from gradgrader.rubric import resolve_rubric


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
        ("FileNotFoundError", "[Errno 2] No such file or directory: 'weights.npy'", "copy of its own folder"),
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


# ----------------------------------------------------------------- feedback a student reads


def test_code_that_did_not_run_gets_runtime_advice_not_the_math_hint(tmp_path: Path) -> None:
    """A time-out is explained as a time-out; the check's next step about the derivation
    (here: compare J with diag(s) − s sᵀ) is not shown for code that never returned."""
    source = (SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py").read_text()
    source = source.replace("def softmax_jacobian(z):", "def softmax_jacobian(z):\n    while True:\n        pass\n", 1)
    (tmp_path / "softmax.py").write_text(source)
    assignment = tmp_path / "course"
    shutil.copytree(SOFTMAX_SAMPLES.parent, assignment, ignore=shutil.ignore_patterns("samples"))
    toml = assignment / "assignment.toml"
    toml.write_text(toml.read_text().replace("timeout = 10.0", "timeout = 1.0"))
    result = _check_json(tmp_path / "softmax.py", "-a", str(assignment))
    check = next(c for c in result["checks"] if c["id"] == "softmax_jacobian.value")
    assert check["diagnosis"]["mistake"] == "timeout"
    assert check["diagnosis"]["title"] == "Did not finish in time"
    assert "diag(s)" not in check["diagnosis"].get("next_step", "")
