"""Friendly hints for common failures, CSV safety, the grader-error flag, stability naming."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradgrader.assignment import load_assignment
from gradgrader.cli import app
from gradgrader.grading import Grader
from gradgrader.hints import hint_for
from gradgrader.ingest import single
from gradgrader.results import grades_csv
from gradgrader.rubric import resolve_rubric

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


# ----------------------------------------------------------------- feedback a student reads

SOFTMAX_SAMPLES = Path(__file__).resolve().parents[1] / "assignments" / "softmax" / "samples"


def _check_json(path: Path, *args: str) -> dict:
    import json

    result = CliRunner().invoke(app, ["check", str(path), "--json", *args])
    return json.loads(result.stdout)


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


def test_a_file_with_a_syntax_error_is_still_matched_to_its_assignment() -> None:
    result = CliRunner().invoke(app, ["check", str(SOFTMAX_SAMPLES / "syntax-error" / "softmax.py")])
    assert "cannot tell which assignment" not in result.output
    assert "assignment: softmax" in result.stderr and "syntax error on line 19" in result.stdout


def test_a_missing_function_is_reported_in_the_students_own_file_name(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("import numpy as np\n")
    result = _check_json(tmp_path / "empty.py", "-a", "softmax")
    assert "not defined in empty.py" in result["checks"][0]["message"]


def test_a_wrong_shape_message_reads_as_a_sentence() -> None:
    result = _check_json(SOFTMAX_SAMPLES / "wrong-shape" / "softmax.py", "-a", "softmax")
    check = next(c for c in result["checks"] if c["id"] == "log_partition_grad.value")
    assert "log_partition_grad returned a numpy.ndarray of shape (1, 4); expected shape (4,)" in check["message"]


def test_printed_warnings_of_a_failing_file_are_shown_with_its_own_file_name() -> None:
    # (log-of-softmax, used here before, now gets full marks: its warnings come from the
    # advice case 'wide', and a full-marks file's printing is only counted.)
    result = CliRunner().invoke(app, ["check", str(SOFTMAX_SAMPLES / "unstable-softmax" / "softmax.py"), "-a", "softmax"])
    assert "your file printed 8 lines" in result.stdout
    assert "softmax.py:" in result.stdout and "RuntimeWarning: divide by zero" in result.stdout
    assert "/stage/" not in result.stdout and "gradgrader-" not in result.stdout


def test_check_shows_advice_that_costs_nothing() -> None:
    result = CliRunner().invoke(app, ["check", str(SOFTMAX_SAMPLES / "log-of-softmax" / "softmax.py"), "-a", "softmax"])
    assert result.exit_code == 0 and "score 10/10" in result.stdout  # full marks: exit 0
    text = " ".join(result.stdout.split())
    assert "advice (not scored): softmax_loss's loss has 1 NaN/inf entry on case 'wide'" in text
    assert "log-softmax" in text


def test_follow_up_commands_name_the_assignment_and_its_file(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["new-assignment", "linreg", "--dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    packed = runner.invoke(app, ["pack", str(tmp_path / "linreg"), "--out", str(tmp_path / "pack")])
    assert packed.exit_code == 0, packed.output
    assert "gradgrader check linreg.py --assignment" in packed.stdout
    started = runner.invoke(app, ["init", "softmax", "--dir", str(tmp_path / "hw")])
    assert "--assignment softmax" in started.stdout
    refused = runner.invoke(app, ["new-assignment", "../evil", "--dir", str(tmp_path)])
    assert refused.exit_code != 0 and not (tmp_path.parent / "evil").exists()


@pytest.mark.parametrize(
    "bad, where",
    [("def broken(:\n", "line 1"), ("import numpy as np\n\nx = 1 / 0\n", "(line 3)")],
    ids=["syntax-error", "exception"],
)
def test_a_reference_that_fails_to_import_names_its_own_line(tmp_path: Path, bad: str, where: str) -> None:
    from gradgrader.course import reference_module
    from gradgrader.errors import ConfigError

    course = tmp_path / "course"
    shutil.copytree(SOFTMAX_SAMPLES.parent, course, ignore=shutil.ignore_patterns("samples"))
    (course / "reference.py").write_text(bad)
    with pytest.raises(ConfigError) as info:
        reference_module(load_assignment(course))
    assert where in str(info.value) and "importlib" not in str(info.value)


def test_a_file_uploaded_with_an_upper_case_extension_is_graded(tmp_path: Path) -> None:
    (tmp_path / "class" / "yan").mkdir(parents=True)
    shutil.copyfile(SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py", tmp_path / "class" / "yan" / "Softmax.PY")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(out), "--skip-validation", "--allow-weak-sandbox"]
    )
    assert result.exit_code == 0, result.output
    assert "yan,10,10,graded," in (out / "grades.csv").read_text()


def test_files_written_for_the_ta_are_readable_like_any_new_file(tmp_path: Path) -> None:
    import os
    import stat

    from gradgrader.results import atomic_write

    atomic_write(tmp_path / "grades.csv", "x\n")
    mode = stat.S_IMODE((tmp_path / "grades.csv").stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o666 & ~mask


def test_the_class_summary_says_its_mean_is_over_graded_submissions() -> None:
    from gradgrader.render import class_summary, summary_table

    results = [
        {"submission": "a", "status": "graded", "score": 4.0, "max_score": 10.0, "mistakes": []},
        {"submission": "b", "status": "error", "score": 0.0, "max_score": 10.0, "mistakes": [],
         "message": "softmax.py fails when it is imported: raised FileNotFoundError: [Errno 2] No such file or directory: 'data.npy'"},
    ]
    assert "mean 4.00, median 4.00 of 10 (graded submissions)" in class_summary(results).plain
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(summary_table(results))
    text = console.export_text()
    assert "(no known mistake)" in text and "FileNotFoundError: …" not in text and " …" in text


def test_a_starter_that_returns_zeros_is_not_implemented_on_every_check() -> None:
    """CS231n's starter returns loss 0.0 and dW = 0: every check says so, instead of a
    relative error of 1 and a term decomposition with every coefficient 0."""
    starter = Path(__file__).resolve().parents[1] / "assignments" / "cs231n-softmax" / "samples" / "starter"
    result = _check_json(starter, "-a", "cs231n-softmax")
    for check in result["checks"]:
        assert check["mistakes"] == ["not-implemented"], check["id"]
        assert "× 0" not in check["message"], check["id"]


def test_a_damaged_zip_is_called_damaged(tmp_path: Path) -> None:
    bad = tmp_path / "submissions.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 20)  # the start of a zip, cut off
    result = CliRunner().invoke(app, ["grade", str(bad), "-a", "softmax", "-o", str(tmp_path / "out"), "--allow-weak-sandbox"])
    assert result.exit_code == 2 and "cannot be read (damaged or not fully downloaded?)" in result.stderr


def test_a_canvas_gradebook_without_canvas_ids_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "class" / "alice").mkdir(parents=True)
    shutil.copyfile(SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py", tmp_path / "class" / "alice" / "softmax.py")
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(tmp_path / "out"),
                                      "--gradebook", "canvas", "--skip-validation", "--allow-weak-sandbox"])
    assert result.exit_code == 0 and "Canvas cannot match the rows" in result.stderr


def test_check_on_a_project_folder_finds_the_assignment_below(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('hello')\n")
    (tmp_path / "src").mkdir()
    shutil.copyfile(SOFTMAX_SAMPLES / "sign-flipped" / "softmax.py", tmp_path / "src" / "softmax.py")
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1, result.output  # graded (not full marks), not a usage error
    assert "assignment: softmax" in result.stderr and "sign-flipped" in result.stdout


class _Ctx:
    """Just enough of a CheckContext for compare_case: the softmax assignment, with the
    reference's and the student's answers given."""

    def __init__(self, ref: float, got: float) -> None:
        import numpy as np

        self.assignment = load_assignment("softmax")
        self.course = type("C", (), {"dims": lambda _self, case: self.assignment.cases[case].dims})()
        self._ref, self._got = {"lse": np.array(ref)}, {"lse": np.array(got)}

    def inputs(self, fn, case):
        return {"z": None}

    def reference(self, fn, args):
        return self._ref

    def student(self, fn, args, dims, need=None):
        return self._got


@pytest.mark.parametrize("ref, named", [(2.5, True), (1e-17, False)], ids=["real-answer", "rounding-noise"])
def test_zeros_are_not_implemented_only_where_the_answer_is_not_zero(ref: float, named: bool) -> None:
    from gradgrader.checks.values import compare_case

    check = next(c for c in load_assignment("softmax").checks if c.id == "logsumexp.value")
    result = compare_case(_Ctx(ref, 0.0), check, "small", 1e-5, ["lse"])
    assert (result.mistakes == ("not-implemented",)) is named
    assert result.passed is not named


def test_the_header_of_a_notebook_result_names_the_notebook() -> None:
    from rich.console import Console

    from gradgrader.render import result_view

    result = {"submission": "hw1", "path": "/home/ta/.cache/gradgrader/notebooks/hw1-1a2b/softmax.py",
              "notebook": "class/hw1/softmax.ipynb", "assignment": "softmax", "status": "error",
              "score": 0.0, "max_score": 10.0, "message": "cannot be read"}
    console = Console(width=200, record=True)
    console.print(result_view(result))
    text = console.export_text()
    assert "class/hw1/softmax.ipynb" in text and ".cache" not in text
