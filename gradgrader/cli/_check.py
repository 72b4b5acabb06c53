"""The app that runs ``gradgrader check …``: the same group, holding only ``check``.

Before it dispatches, Typer turns every registered command's signature into a click
command: ~8 ms for the eleven commands of the full app (:mod:`._commands`), ~1 ms for
``check`` alone, on every student's check (#17). A command line whose first argument is
``check`` names no other command, and the usage, help and errors of ``check`` are the
same in both apps (``tests/test_cli_check.py`` compares them).
"""

from __future__ import annotations

from gradgrader.cli._app import new_app
from gradgrader.cli.student import check

app = new_app()


@app.callback()
def _group() -> None:
    """A callback keeps ``check`` a command of the group, as in the full app (a Typer app
    with a single command and no callback runs that command without its name)."""


app.command()(check)

__all__ = ["app"]
