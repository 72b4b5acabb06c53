"""Student self-check and course-authored assignments (no change to gradgrader's code)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SOFTMAX_SAMPLES
from typer.testing import CliRunner

from gradgrader.assignment import load_assignment
from gradgrader.authoring import detect_assignment, scaffold, validate, write_starter
from gradgrader.cli import app
from gradgrader.errors import ConfigError, SubmissionError
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.rubric import resolve_rubric

ROOT = Path(__file__).resolve().parents[1]
SOFTMAX = ROOT / "assignments" / "softmax"
CORRECT = SOFTMAX / "samples" / "correct-vectorized" / "softmax.py"
runner = CliRunner()

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_check_finds_the_assignment_by_file_name(tmp_path: Path) -> None:
    shutil.copy(CORRECT, tmp_path / "softmax.py")
    spec, why = detect_assignment(tmp_path / "softmax.py")
    assert spec.name == "softmax" and "named softmax.py" in why


def test_check_finds_the_assignment_by_its_functions(tmp_path: Path) -> None:
    shutil.copy(CORRECT, tmp_path / "my_homework.py")
    spec, why = detect_assignment(tmp_path / "my_homework.py")
    assert spec.name == "softmax" and "defines" in why


def test_detection_loads_only_the_assignment_it_chooses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The others are read for their file and function names only (resolving every
    shipped assignment's hooks took ~6 ms of a student's check, #17); the one chosen is
    loaded and validated in full, as ``--assignment`` loads it."""
    import gradgrader.authoring as authoring

    loaded: list[Path] = []
    real = authoring.load_assignment
    monkeypatch.setattr(authoring, "load_assignment", lambda root: loaded.append(Path(root)) or real(root))
    shutil.copy(CORRECT, tmp_path / "softmax.py")  # two shipped courses call it softmax.py
    spec, why = detect_assignment(tmp_path / "softmax.py")
    assert [p.name for p in loaded] == ["softmax"] and spec == load_assignment("softmax")
    assert "defines 6 of its 6 functions" in why


def test_a_course_whose_hooks_do_not_load_does_not_stop_detecting_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the assignment chosen is loaded in full: a course folder (GRADGRADER_HOME) with
    a broken hooks file stops only a check of that course, with its own error."""
    from conftest import copy_assignment

    home = tmp_path / "home"
    broken = copy_assignment(home / "assignments" / "broken", {'name = "softmax"': 'name = "broken"',
                                                               'file = "softmax.py"': 'file = "broken.py"'})
    (broken / "hooks.py").write_text("raise RuntimeError('a hooks file that does not load')\n")
    monkeypatch.setenv("GRADGRADER_HOME", str(home))
    shutil.copy(CORRECT, tmp_path / "softmax.py")
    spec, _ = detect_assignment(tmp_path / "softmax.py")
    assert spec.name == "softmax"
    shutil.copy(CORRECT, tmp_path / "broken.py")
    with pytest.raises(ConfigError, match="hooks"):
        detect_assignment(tmp_path / "broken.py")


def test_a_course_whose_toml_lacks_its_file_is_reported_when_detecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read for its names only, an assignment whose TOML does not say them is parsed in
    full, which says what is wrong (as loading every assignment did)."""
    from conftest import copy_assignment

    home = tmp_path / "home"
    copy_assignment(home / "assignments" / "nameless", {'file = "softmax.py"\n': ""})
    monkeypatch.setenv("GRADGRADER_HOME", str(home))
    shutil.copy(CORRECT, tmp_path / "softmax.py")
    with pytest.raises(ConfigError, match="file"):
        detect_assignment(tmp_path / "softmax.py")


def test_an_unrecognisable_file_asks_for_the_assignment(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="--assignment"):
        detect_assignment(tmp_path / "notes.py")
    result = runner.invoke(app, ["check", str(tmp_path / "notes.py")])
    assert result.exit_code == 2


def test_check_without_assignment_says_which_it_chose(tmp_path: Path) -> None:
    shutil.copy(CORRECT, tmp_path / "softmax.py")
    result = runner.invoke(app, ["check", str(tmp_path / "softmax.py"), "--json"])
    assert result.exit_code == 0
    assert "assignment: softmax (chosen because the file is named softmax.py" in result.stderr
    assert json.loads(result.stdout)["assignment"] == "softmax"


def test_init_writes_the_starter_and_never_overwrites(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "softmax", "--dir", str(tmp_path)])
    assert result.exit_code == 0
    written = tmp_path / "softmax.py"
    assert written.read_text() == (SOFTMAX / "starter.py").read_text()
    with pytest.raises(SubmissionError, match="already exists"):
        write_starter(load_assignment("softmax"), tmp_path)
    assert runner.invoke(app, ["init", "softmax", "--dir", str(tmp_path)]).exit_code == 2


def test_a_failing_check_shows_a_next_step(tmp_path: Path) -> None:
    sample = SOFTMAX / "samples" / "sign-flipped" / "softmax.py"
    result = runner.invoke(app, ["check", str(sample), "--failed"])
    assert result.exit_code == 1
    assert "Next step:" in result.stdout and "sign-flipped" in result.stdout


class _Lines:
    """The lines of a child's pipe, read by a thread: ``next()`` fails (never hangs)
    after ``timeout``."""

    def __init__(self, stream) -> None:
        import queue
        import threading

        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.queue.put(line) for line in stream], daemon=True).start()

    def next(self, timeout: float = 120.0) -> str:
        import queue

        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s") from None

    def until(self, text: str, timeout: float = 120.0) -> str:
        while text not in (line := self.next(timeout)):
            pass
        return line


def test_a_save_made_while_grading_is_not_missed(tmp_path: Path) -> None:
    from gradgrader.cli._checkrun import _stamp, _wait_for_change

    target = tmp_path / "softmax.py"
    target.write_text("a = 1\n")
    before = _stamp(target)  # taken before grading
    target.write_text("a = 22\n")  # saved while it graded
    _wait_for_change(target, before, poll=60)  # returns at once, no minute-long wait


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals")
def test_watch_checks_again_when_the_file_is_saved(tmp_path: Path) -> None:
    target = tmp_path / "softmax.py"
    shutil.copy(SOFTMAX / "samples" / "sign-flipped" / "softmax.py", target)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradgrader", "check", str(target), "--watch", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = _Lines(proc.stdout), _Lines(proc.stderr)
    try:
        first = json.loads(out.next())
        assert first["score"] < first["max_score"]
        err.until("watching")
        shutil.copy(CORRECT, target)
        second = json.loads(out.next())
        assert second["score"] == second["max_score"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


# ----------------------------------------------------------------- validate


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "softmax-copy"
    shutil.copytree(SOFTMAX, copy, ignore=shutil.ignore_patterns("samples"))
    shutil.copy(ROOT / "rubrics" / "softmax.toml", copy / "rubric.toml")
    text = (copy / file).read_text()
    assert old in text, f"{old!r} not in {file}"
    (copy / file).write_text(text.replace(old, new))
    return copy


def test_the_shipped_assignments_validate() -> None:
    report = validate(load_assignment("softmax"))
    assert report.ok, report.problems


def test_validate_catches_a_reference_with_a_dropped_half(tmp_path: Path) -> None:
    # The loss keeps (reg/2)‖W‖²'s ½ out: reg·‖W‖², while dW stays reg·W. Comparing the
    # reference with itself would pass; finite differences of its own loss do not.
    copy = broken_copy(tmp_path, "reference.py", "0.5 * reg", "reg")
    report = validate(load_assignment(copy))
    assert not report.ok
    assert any("softmax_loss.self_consistency" in p for p in report.problems)


def test_grade_refuses_an_assignment_whose_reference_fails(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, "reference.py", "0.5 * reg", "reg")
    cls = tmp_path / "class" / "alice"
    cls.mkdir(parents=True)
    shutil.copy(CORRECT, cls / "softmax.py")
    result = runner.invoke(app, ["grade", str(tmp_path / "class"), "-a", str(copy), "-o", str(tmp_path / "out"), "--allow-weak-sandbox"])
    assert result.exit_code == 2
    assert "fails its own validation" in result.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_validate_catches_terms_that_do_not_add_up(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, "hooks.py", "return reg * W", "return 2 * reg * W")
    report = validate(load_assignment(copy))
    assert any("do not add up" in p for p in report.problems)


# ----------------------------------------------------------------- new assignments


def expected(folder: Path) -> dict:
    return tomllib.loads((folder / "EXPECTED.toml").read_text())


def grade_folder(assignment_folder: Path, samples: Path) -> dict[str, dict]:
    spec = load_assignment(assignment_folder)
    with Grader(spec, resolve_rubric(spec)) as grader:
        return {r.submission: r.to_json() for r in grader.grade_all(discover(samples, spec.filename))}


def test_new_assignment_scaffold_already_grades(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new-assignment", "ridge", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "ridge"
    assert validate(load_assignment(folder)).ok
    results = grade_folder(folder, folder / "samples")
    for sid, want in expected(folder / "samples").items():
        assert (results[sid]["score"] == results[sid]["max_score"]) == want["full_marks"], sid
        assert sorted(results[sid]["mistakes"]) == sorted(want["mistakes"]), sid
    with pytest.raises(ConfigError, match="already exists"):
        scaffold("ridge", tmp_path)


def test_a_course_assignment_defined_only_in_tests_grades_end_to_end(tmp_path: Path) -> None:
    folder = ROOT / "tests" / "assignments" / "logistic"
    assert validate(load_assignment(folder)).ok
    out = tmp_path / "out"
    result = runner.invoke(app, ["grade", str(folder / "samples"), "-a", str(folder), "-o", str(out), "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.stderr
    lines = {json.loads(line)["submission"]: json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()}
    assert lines["correct"]["score"] == 10
    assert lines["sign-flipped"]["mistakes"] == ["sign-flipped"]
    assert lines["naive-sigmoid"]["mistakes"] == ["unstable-softmax"]
    failing = {c["id"] for c in lines["naive-sigmoid"]["checks"] if not c["passed"]}
    assert failing == {"sigmoid.stable"}


# ----------------------------------------------------------------- validate: rubric and warnings (#19)

LOGISTIC = ROOT / "tests" / "assignments" / "logistic"


def _logistic_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "logistic"
    shutil.copytree(LOGISTIC, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_validate_fails_when_the_rubric_names_a_check_that_no_longer_exists(tmp_path: Path) -> None:
    folder = _logistic_copy(tmp_path)
    with (folder / "rubric.toml").open("a", encoding="utf-8") as f:
        f.write('[checks."logistic_loss.removed"]\npoints = 1\n')
    report = validate(load_assignment(folder))
    assert not report.ok
    assert any("logistic_loss.removed" in p and "rubric" in p for p in report.problems), report.problems
    result = runner.invoke(app, ["validate", str(folder), "--allow-weak-sandbox"])
    assert result.exit_code == 1 and "logistic_loss.removed" in result.stdout, result.output


def test_validate_warns_about_mistakes_without_feedback_text(tmp_path: Path) -> None:
    from gradgrader.authoring import mistakes_without_feedback

    folder = _logistic_copy(tmp_path)
    warned = " ".join(mistakes_without_feedback(load_assignment(folder)))
    assert "'loss-gradient-mismatch' (from check logistic_loss.self_consistency)" in warned
    assert "'not-implemented'" not in warned  # built-in text exists for runtime mistakes
    (folder / "feedback.toml").write_text(
        '[loss-gradient-mismatch]\ntitle = "Gradient of another loss"\nexplanation = "Your grad is not the derivative of your loss."\n',
        encoding="utf-8",
    )
    assert "loss-gradient-mismatch" not in " ".join(mistakes_without_feedback(load_assignment(folder)))
    assert mistakes_without_feedback(load_assignment(SOFTMAX)) == []  # every id it names is explained
    result = runner.invoke(app, ["validate", str(LOGISTIC), "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.output  # a warning, not a failure
    assert "warning: mistake 'sign-flipped'" in result.stderr


def test_pack_warns_when_no_case_is_hidden() -> None:
    from gradgrader.authoring import pack_warnings

    assert any("no case is hidden" in w for w in pack_warnings(load_assignment(LOGISTIC)))
    assert not any("no case is hidden" in w for w in pack_warnings(load_assignment(SOFTMAX)))


def test_watch_keeps_waiting_when_the_file_disappears_and_says_so(monkeypatch, capsys):
    # An editor that saves by delete-and-rename, or a student moving the file for a
    # moment: --watch says so once and checks again when it is back, never exits silently.
    import gradgrader.cli._checkrun as cli

    stamps = iter([None, None, None, (5, 100)])
    monkeypatch.setattr(cli, "_stamp", lambda path: next(stamps))
    monkeypatch.setattr(cli.time, "sleep", lambda s: None)
    cli._wait_for_change(Path("softmax.py"), (1, 100), poll=0)  # returns once the file is back
    err = capsys.readouterr().err
    assert err.count("is gone — waiting for it to come back") == 1


def test_a_notebook_is_chosen_by_its_own_name(tmp_path):
    from gradgrader.authoring import detect_assignment

    nb = tmp_path / "naive_em.ipynb"  # one course names its file naive_em.py
    nb.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    _, why = detect_assignment(nb)
    assert why == "the notebook is named naive_em.ipynb"


def test_a_file_with_a_syntax_error_is_still_matched_to_its_assignment() -> None:
    result = CliRunner().invoke(app, ["check", str(SOFTMAX_SAMPLES / "syntax-error" / "softmax.py")])
    assert "cannot tell which assignment" not in result.output
    assert "assignment: softmax" in result.stderr and "syntax error on line 19" in result.stdout


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


def test_check_on_a_project_folder_finds_the_assignment_below(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('hello')\n")
    (tmp_path / "src").mkdir()
    shutil.copyfile(SOFTMAX_SAMPLES / "sign-flipped" / "softmax.py", tmp_path / "src" / "softmax.py")
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1, result.output  # graded (not full marks), not a usage error
    assert "assignment: softmax" in result.stderr and "sign-flipped" in result.stdout


def test_a_notebook_is_recognised_by_the_functions_its_cells_define(tmp_path: Path) -> None:
    """A notebook's cells become try: blocks of the generated module; the functions in
    them still count (a one-cell notebook named softmax.ipynb was ambiguous before)."""
    source = (SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py").read_text()
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
    notebook = tmp_path / "homework.ipynb"
    notebook.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    spec, why = detect_assignment(notebook)
    assert spec.name == "softmax" and "6 of its 6 functions" in why
