"""gradgrader/cli/_check.py: `gradgrader check …` runs in an app holding only `check`
(#17: Typer builds every registered command before it dispatches); whatever the command
line, it answers as the full app does."""

from __future__ import annotations

import pytest
from conftest import SOFTMAX, sample_path
from typer.testing import CliRunner

from gradgrader.cli._check import app as check_app
from gradgrader.cli._commands import app as full_app


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
def test_check_answers_as_in_the_full_app(args: list[str]) -> None:
    env = {"COLUMNS": "100"}
    full = CliRunner().invoke(full_app, args, prog_name="gradgrader", env=env)
    alone = CliRunner().invoke(check_app, args, prog_name="gradgrader", env=env)
    assert alone.exit_code == full.exit_code
    assert alone.stderr == full.stderr
    if "--json" in args and full.exit_code in (0, 1):
        strip = lambda text: text.split('"elapsed_s"')[0]  # noqa: E731 - the one field that varies
        assert strip(alone.stdout) == strip(full.stdout)
    else:
        assert alone.stdout == full.stdout


def test_the_check_app_holds_check_only() -> None:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in check_app.registered_commands]
    assert names == ["check"]
