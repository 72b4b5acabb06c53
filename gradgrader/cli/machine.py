"""The machine's commands: ``gradescope`` (the autograder's entry point on Gradescope) and
``doctor`` (which sandbox layers and course packages this machine gives)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gradgrader.cli._app import AssignmentOpt, RubricOpt, WeakOpt
from gradgrader.cli._shared import probe_isolation, user_errors
from gradgrader.errors import GradgraderError


def gradescope(
    assignment: AssignmentOpt,
    submission: Annotated[
        Path, typer.Option("--submission", help="The student's files (Gradescope puts them in /autograder/submission).")
    ] = Path("/autograder/submission"),
    results: Annotated[
        Path, typer.Option("--results", help="Where results.json goes (Gradescope reads /autograder/results/results.json).")
    ] = Path("/autograder/results/results.json"),
    rubric: RubricOpt = None,
    visibility: Annotated[
        str, typer.Option("--visibility", help="Who sees the tests: visible, hidden, after_due_date or after_published.")
    ] = "visible",
    allow_weak: WeakOpt = False,
) -> None:
    """Gradescope autograder mode: grade the submission, write results.json in Gradescope's format."""
    from gradgrader.export import run_autograder

    with user_errors():
        try:
            data = run_autograder(
                assignment, submission, results, rubric, visibility,
                isolation=lambda: probe_isolation(allow_weak, strict=True),
            )
        except ValueError as exc:
            raise GradgraderError(str(exc)) from None
    typer.echo(f"score {data['score']:g}; {len(data['tests'])} test(s) written to {results}")


def doctor() -> None:
    """Show which sandbox layers this machine gives, and the sandbox's Python and numpy."""
    from rich.table import Table

    from gradgrader.sandbox import Sandbox
    from gradgrader.sandbox.layers import probe

    iso = probe()
    table = Table(title=f"sandbox level: {iso.level}")
    table.add_column("layer")
    table.add_column("status")
    table.add_column("detail")
    for layer in iso.layers:
        table.add_row(layer.name, "[green]yes[/]" if layer.available else "[red]no[/]", layer.detail)
    console = Console()
    console.print(table)
    with user_errors(), Sandbox(isolation=iso) as box:
        info = box.zygote.info
        console.print(
            f"sandbox interpreter: {sys.executable} (Python {info.get('python')}, numpy {info.get('numpy')}); "
            f"grader: Python {sys.version.split()[0]}",
            markup=False, highlight=False,
        )
    if iso.level != "strong":
        console.print("To get every layer on Debian/Ubuntu: apt-get install bubblewrap; Linux ≥ 5.13 for Landlock; pip install pyseccomp (and libseccomp2).", markup=False)
    _doctor_packages(console)


def _doctor_packages(console: Console) -> None:
    """The packages each shipped assignment's course provides, and whether they are
    installed here (exit 2 if one is missing: grading that assignment would stop)."""
    from gradgrader.assignment import load_assignment
    from gradgrader.sandbox.environment import missing_packages
    from gradgrader.spec import shipped_assignments

    missing_any = False
    for name, folder in shipped_assignments().items():
        try:
            spec = load_assignment(folder)
        except GradgraderError:
            continue  # `gradgrader validate` says what is wrong with it
        if not spec.packages:
            continue
        missing = missing_packages(spec.packages)
        missing_any |= bool(missing)
        state = f"missing {', '.join(missing)} (pip install {' '.join(missing)})" if missing else "installed"
        console.print(f"course packages of {name}: {', '.join(spec.packages)} — {state}", markup=False, highlight=False)
    if missing_any:
        raise typer.Exit(2)
