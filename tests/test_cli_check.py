"""gradgrader/cli/_check.py and _checkrun.py: `gradgrader check …` runs in an app holding
only `check` (#17: Typer builds every registered command before it dispatches), or
without typer for the usual options; whatever the command line, it answers as the full
app does."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import pytest
from conftest import SOFTMAX, sample_path
from typer.testing import CliRunner

import gradgrader.cli as cli
from gradgrader.cli._check import app as check_app
from gradgrader.cli._commands import app as full_app
from gradgrader.cli._early import parse_check


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--help"],
        ["check"],
        ["check", "--bogus"],
        ["check", "-a"],
        ["check", "x.py", "--json", "--review"],
        ["check", "no-such-file.py", "-a", "softmax"],
        ["check", str(sample_path("sign-flipped")), "-a", str(SOFTMAX), "--failed"],
        ["check", str(sample_path("correct-vectorized")), "-a", str(SOFTMAX), "--json"],
    ],
)
def test_check_answers_as_in_the_full_app(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"COLUMNS": "100"}
    full = CliRunner().invoke(full_app, args, prog_name="gradgrader", env=env)
    alone = CliRunner().invoke(check_app, args, prog_name="gradgrader", env=env)
    assert alone.exit_code == full.exit_code
    assert alone.stderr == full.stderr
    assert _same_stdout(alone.stdout, full.stdout, args, full.exit_code)
    if parse_check(args) is None:
        return
    # The usual options run without typer (gradgrader.cli.main): the same answer.
    monkeypatch.setenv("COLUMNS", env["COLUMNS"])  # as CliRunner sets it
    code, stdout, stderr = _without_typer(args, monkeypatch)
    assert code == full.exit_code
    assert stderr == full.stderr
    assert _same_stdout(stdout, full.stdout, args, full.exit_code)


def _same_stdout(one: str, other: str, args: list[str], code: int) -> bool:
    if "--json" in args and code in (0, 1):
        strip = lambda text: text.split('"elapsed_s"')[0]  # noqa: E731 - the one field that varies
        return strip(one) == strip(other)
    return one == other


def _without_typer(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """``gradgrader.cli.main`` on ``args``, in this process: its exit code and output."""
    monkeypatch.setattr(sys, "argv", ["gradgrader", *args])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
        cli.main()
    return stop.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["check", "s.py"], ("s.py", None, None, False, False, False)),
        (["check", "s.py", "-a", "softmax", "--json"], ("s.py", "softmax", None, True, False, False)),
        (["check", "--assignment=gmm", "--failed", "s.py", "--allow-weak-sandbox"], ("s.py", "gmm", None, False, True, True)),
        (["check", "-asoftmax", "s.py", "--rubric", "r.toml"], ("s.py", "softmax", "r.toml", False, False, False)),
        (["check", "s.py", "-a", "gmm", "-a", "softmax"], ("s.py", "softmax", None, False, False, False)),  # the last one wins
        (["check", "s.py", "-a", "softmax", "--watch"], None),  # runs long: typer
        (["check", "s.py", "-wa", "softmax"], None),
        (["check", "s.py", "--review"], None),
        (["check", "s.py", "--help"], None),
        (["check"], None),  # usage errors: typer says them
        (["check", "a.py", "b.py"], None),
        (["check", "--", "s.py"], None),
        (["check", "s.py", "-a"], None),
        (["check", "s.py", "-a", ""], None),
        (["check", "s.py", "--rubric", "-a", "softmax"], None),  # a value that looks like an option
        (["check", "-", "-a", "softmax"], None),
        (["check", "s.py", "--bogus"], None),
        (["check", "s.py", "-x"], None),
        (["grade", "class", "-a", "softmax"], None),
        ([], None),
    ],
)
def test_the_usual_check_command_lines_are_read_without_typer(argv: list[str], line: tuple | None) -> None:
    got = parse_check(argv)
    if line is None:
        assert got is None
    else:
        assert got is not None
        assert (str(got.path), got.assignment, str(got.rubric) if got.rubric else None, got.as_json,
                got.failed_only, got.allow_weak) == line


def test_a_usual_check_imports_neither_typer_click_nor_rich_for_json_and_no_typer_for_the_terminal() -> None:
    """typer and click took ~20 ms of a student's check, rich ~20 ms more (#17): a check
    with the usual options loads rich only to draw the terminal's view (and never the TA's
    overrides: a view of a result needs only the extra-credit test), and of rich no tables
    (~3 ms: a class's summary needs them, a student's view does not)."""
    sample = str(sample_path("correct-vectorized"))
    code = (
        "import sys\n"
        "from gradgrader.cli import main\n"
        "sys.argv = ['gradgrader', 'check', {sample!r}, '-a', 'softmax'{json}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as stop:\n"
        "    loaded = {{m.split('.')[0] for m in sys.modules}} | set(sys.modules)\n"
        "    sys.stderr.write(f'exit {{stop.code}}: ' + ','.join(sorted(loaded & {{'typer', 'click', 'rich', 'rich.table', 'gradgrader.overrides'}})))\n"
    )
    # Piped, as a script or an editor runs it: no terminal, no COLUMNS to wrap at.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE")}
    as_json = subprocess.run([sys.executable, "-c", code.format(sample=sample, json=", '--json'")], capture_output=True, text=True, env=env)
    assert as_json.stderr.endswith("exit 0: "), as_json.stderr
    shown = subprocess.run([sys.executable, "-c", code.format(sample=sample, json="")], capture_output=True, text=True, env=env)
    assert shown.stderr.endswith("exit 0: rich"), shown.stderr


def test_the_check_app_holds_check_only() -> None:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in check_app.registered_commands]
    assert names == ["check"]
