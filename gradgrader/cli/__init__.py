"""The ``gradgrader`` command: parses, calls the engine, renders. No grading logic here.

One module per group of commands (``student``: check and init; ``classroom``: grade;
``classwork``: review and similarity; ``authoring``: the course author's; ``machine``:
Gradescope and doctor); ``_app`` holds the Typer app and what they share. Commands are
registered here, in the order ``gradgrader --help`` lists them.
"""

from __future__ import annotations

from typing import Any

from gradgrader.cli._app import app
from gradgrader.cli.authoring import list_assignments, new_assignment, pack, validate
from gradgrader.cli.classroom import grade
from gradgrader.cli.classwork import review, similarity
from gradgrader.cli.machine import doctor, gradescope
from gradgrader.cli.student import check, init

app.command()(check)
app.command()(grade)
app.command()(review)
app.command()(init)
app.command()(validate)
app.command("new-assignment")(new_assignment)
app.command()(pack)
app.command()(gradescope)
app.command()(doctor)
app.command()(similarity)
app.command("assignments")(list_assignments)

__all__ = ["app", "main"]


def main() -> Any:
    """Console-script entry point."""
    return app()
