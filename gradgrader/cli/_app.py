"""The Typer app and the options that several commands take (what they share without
typer: :mod:`._shared`).

Kept cheap to import (typer only): every command pays for it on start-up (a student's
``check FILE`` with the usual options runs without it, :mod:`gradgrader.cli`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def new_app() -> typer.Typer:
    """The ``gradgrader`` Typer app, without commands (``_commands`` registers them all;
    ``_check`` only ``check``, for a student's check)."""
    return typer.Typer(
        name="gradgrader",
        help="Grade gradient homework: sandboxed runs, reference and finite-difference checks, named mistakes.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


app = new_app()

AssignmentOpt = Annotated[
    str,
    typer.Option("--assignment", "-a", help="A shipped assignment's name (e.g. softmax, gmm) or the path of an assignment folder."),
]
WeakOpt = Annotated[
    bool,
    typer.Option(
        "--allow-weak-sandbox",
        help="Grade even when this machine gives only process isolation and rlimits "
        "(no Landlock, no namespaces): a submission could then read the reference solution, "
        "other students' files and the network.",
        rich_help_panel="Sandbox",
    ),
]
RubricOpt = Annotated[
    Path | None, typer.Option("--rubric", help="Rubric TOML (default: the assignment's own, else rubrics/NAME.toml).")
]
OptionalAssignmentOpt = Annotated[
    str | None,
    typer.Option(
        "--assignment", "-a",
        help="A shipped assignment's name or an assignment folder (default: found from the file's name or functions).",
    ),
]
