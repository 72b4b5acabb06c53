"""The Typer app and what every command shares: the error console, the options that
several commands take, and turning gradgrader's errors into one line and exit code 2.

Kept cheap to import (typer and rich's Console only): every command, ``check`` first,
pays for it on start-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from gradgrader.errors import GradgraderError

if TYPE_CHECKING:
    from gradgrader.rubric import Rubric
    from gradgrader.sandbox.layers import Isolation
    from gradgrader.spec import Assignment



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
# No emoji codes either: a path such as ``hw:fire:1.py`` is printed as it is (and rich's
# table of emoji names is never loaded on start-up).
err = Console(stderr=True, highlight=False, emoji=False)
if not err.is_terminal and not os.environ.get("COLUMNS"):
    # Piped or in CI: a message stays one line, as the results on stdout do
    # (render.output_console); a terminal still wraps at its width.
    err.width = 100_000

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


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn gradgrader's errors into one readable line and exit code 2."""
    try:
        yield
    except GradgraderError as exc:
        from rich.markup import escape

        # The message quotes TOML like [checks."id"]: escape it, or rich takes it for markup.
        err.print(f"[bold red]gradgrader:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def say(message: str, style: str | None = None) -> None:
    """One plain line on stderr (no markup, no highlighting: paths and ids as they are)."""
    err.print(message, style=style, highlight=False, markup=False)


def probe_isolation(allow_weak: bool, strict: bool) -> Isolation:
    """Probe the sandbox layers, say once which level is in force, refuse a weak one."""
    from gradgrader.sandbox.layers import probe, require_isolation

    err.print(probe().summary(), style="dim", highlight=False, markup=False)
    return require_isolation(allow_weak, strict)


def load(assignment: str, rubric: Path | None) -> tuple[Assignment, Rubric]:
    """The assignment and its rubric (``gradgrader.loading.load_for_grading``)."""
    from gradgrader.loading import load_for_grading

    return load_for_grading(assignment, rubric)
