"""``gradgrader check`` (one student's file, once or on every save) and ``gradgrader init``
(the starter file): the student's commands.

``check`` is what a student runs most: what it does is in :mod:`._checkrun` (typer
parses its options here; the usual ones are also read without typer, see
:mod:`gradgrader.cli`). The grader is imported inside the command, while the sandbox's
zygote starts (it was started before typer was imported when the command line names the
assignment: :mod:`gradgrader.cli._early`).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from gradgrader.cli._app import OptionalAssignmentOpt, RubricOpt, WeakOpt
from gradgrader.cli._shared import user_errors


def check(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The student's .py file or Jupyter notebook, or a folder holding one.")],
    assignment: OptionalAssignmentOpt = None,
    rubric: RubricOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one result object (JSON) on stdout.")] = False,
    failed_only: Annotated[bool, typer.Option("--failed", help="Show only the failing checks.")] = False,
    allow_weak: WeakOpt = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Check again every time the file is saved (Ctrl-C to stop).")] = False,
    review_ui: Annotated[bool, typer.Option("--review", help="Open the result in the review UI (a terminal app) instead of printing it.")] = False,
) -> None:
    """Grade one submission and explain every failing check. Exit 0: full marks; 1: not; 2: usage error."""
    from gradgrader.cli._checkrun import run_check

    raise typer.Exit(run_check(path, assignment, rubric, as_json, failed_only, allow_weak, watch, review_ui, ctx.obj))


def init(
    assignment: Annotated[str, typer.Argument(help="The assignment (shipped name or folder).")],
    folder: Annotated[Path, typer.Option("--dir", help="Where to write the starter file.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write the assignment's starter file (e.g. softmax.py) into the current folder."""
    from gradgrader.assignment import load_assignment
    from gradgrader.authoring import write_starter

    with user_errors():
        spec = load_assignment(assignment)
        target = write_starter(spec, folder, force)
    typer.echo(
        f"wrote {target}: implement its functions, then run "
        f"`gradgrader check {shlex.quote(str(target))} --assignment {shlex.quote(assignment)}`"
    )
