"""The ``gradgrader`` Typer app with every command registered, in the order
``gradgrader --help`` lists them (imported by :func:`gradgrader.cli.main` once a
check's sandbox is starting: see :mod:`gradgrader.cli._early`)."""

from __future__ import annotations

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

__all__ = ["app"]
