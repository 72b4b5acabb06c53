"""gradgrader/cli/student.py: the student's commands, `check` and `init`, as a student runs
them."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import SOFTMAX, sample_path
from typer.testing import CliRunner

from gradgrader.cli import app


def test_piped_check_does_not_hard_wrap_at_80_columns(tmp_path: Path):
    result = CliRunner().invoke(
        app, ["check", str(sample_path("sign-flipped")), "-a", str(SOFTMAX)], env={"COLUMNS": ""}
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    failing = [line for line in lines if "✘ softmax_loss.gradient" in line]
    assert failing and len(failing[0]) > 80, lines  # the whole message on its line
    assert "fails on 4 of 4 cases" in failing[0]
    assert not any(line != line.rstrip() for line in lines), "no lines padded with spaces"


def test_starter_check_prints_one_line_per_function(tmp_path: Path):
    shutil.copyfile(SOFTMAX / "starter.py", tmp_path / "softmax.py")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "softmax.py"), "-a", str(SOFTMAX)])
    assert result.exit_code == 1, result.output
    assert "softmax_loss: not implemented yet — 0/4" in result.output
    assert result.output.count("raises NotImplementedError") == 0, result.output


def test_piped_messages_on_stderr_are_not_hard_wrapped_either() -> None:
    """The 'assignment: … chosen because …' line is one line when piped, like the results."""
    import os
    import subprocess
    import sys

    sample = Path(__file__).resolve().parents[1] / "assignments" / "softmax" / "samples" / "sign-flipped"
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    proc = subprocess.run([sys.executable, "-m", "gradgrader", "check", str(sample)], capture_output=True, text=True, env=env)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("assignment: softmax"))
    assert len(line) > 80 and line.endswith("softmax_loss))"), proc.stderr


def test_a_json_check_of_a_py_file_loads_no_reader_or_renderer_it_does_not_use() -> None:
    """What a check imports and does not use is start-up time paid by every student (#17):
    a .py file needs no class, archive or LMS reader and no notebook converter, one
    submission no worker pool, a --json check no terminal renderer, messages on stderr
    no emoji codes, and the command line no other command (gradgrader/cli/_check.py). A notebook and the terminal view still load them
    (the other tests of this file and tests/test_submission_notebook.py run those)."""
    import ast
    import subprocess
    import sys

    code = (
        "import sys, io, contextlib\n"
        f"sys.argv = ['gradgrader', 'check', {str(sample_path('correct-vectorized'))!r}, '-a', {str(SOFTMAX)!r}, '--json']\n"
        "import gradgrader.cli as cli\n"
        "out = io.StringIO()\n"
        "try:\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        cli.main()\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, (stop.code, out.getvalue())\n"
        "assert out.getvalue().startswith('{')\n"
        "print(sorted(sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(run.stdout.strip().splitlines()[-1]))
    assert "gradgrader.grading" in loaded and "gradgrader.ingest.folders" in loaded
    unused = {
        "gradgrader.ingest.canvas", "gradgrader.ingest.classexport", "gradgrader.ingest.moodle",
        "gradgrader.ingest.gradescope", "gradgrader.ingest._files", "gradgrader.submission.notebook",
        "gradgrader.ingest.archive", "zipfile", "gradgrader.render", "gradgrader.report", "gradgrader.pack",
        "rich.table", "rich._emoji_codes", "concurrent.futures", "logging",
        "gradgrader.cli._commands", "gradgrader.cli.classroom", "gradgrader.cli.classwork",
        "gradgrader.cli.authoring", "gradgrader.cli.machine",
    }
    assert not unused & loaded, sorted(unused & loaded)
