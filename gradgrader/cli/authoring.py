"""The course author's commands: ``validate``, ``new-assignment``, ``pack`` and ``assignments``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gradgrader.cli._app import WeakOpt
from gradgrader.cli._shared import err, probe_isolation, user_errors


def validate(
    assignment: Annotated[str, typer.Argument(help="The assignment (shipped name or folder).")],
    allow_weak: WeakOpt = False,
) -> None:
    """Check an assignment before anyone is graded (exit 0: it passes, 1: it does not).

    The reference must pass every one of its checks (finite differences of its own
    objectives included) and the diagnosis terms must add up to it.
    """
    from gradgrader.assignment import load_assignment
    from gradgrader.authoring import validate as validate_assignment
    from gradgrader.sandbox.environment import require_packages

    with user_errors():
        spec = load_assignment(assignment)
        require_packages(spec.packages, spec.name)  # exit 2, before the sandbox starts
        iso = probe_isolation(allow_weak, strict=False)
        report = validate_assignment(spec, iso)
    console = Console(highlight=False)
    n = len(report.result.checks) if report.result else 0
    for warning in report.warnings:
        err.print(f"warning: {warning}", style="yellow", highlight=False, markup=False)
    if report.ok:
        console.print(f"[green]✔[/] {spec.name}: the reference passes all {n} checks; the assignment loads, generates its cases and diagnoses consistently")
        raise typer.Exit(0)
    console.print(f"[red]✘[/] {spec.name} ({spec.root}) has {len(report.problems)} problem(s):")
    for problem in report.problems:
        console.print(f"  • {problem}", markup=False)
    raise typer.Exit(1)


def new_assignment(
    name: Annotated[str, typer.Argument(help="Name of the new assignment (also its folder's name).")],
    parent: Annotated[Path, typer.Option("--dir", help="Folder to create it in.")] = Path("assignments"),
) -> None:
    """Scaffold an assignment folder that already grades (a worked least-squares example)."""
    from gradgrader.authoring import scaffold

    with user_errors():
        target = scaffold(name, parent)
    q = shlex.quote
    typer.echo(
        f"created {target}\n  gradgrader validate {q(str(target))}\n"
        f"  gradgrader grade {q(str(target / 'samples'))} --assignment {q(str(target))} --out {q('out/' + target.name)}"
    )


def pack(
    assignment: Annotated[str, typer.Argument(help="The assignment (shipped name or folder).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the student pack into (new or empty).")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace an earlier student pack in OUT (e.g. packs/NAME).")] = False,
) -> None:
    """Write a student pack of the assignment: no reference, no hooks, no hidden cases.

    The public checks replay recorded expected values, so students can check offline.
    """
    from gradgrader.assignment import load_assignment
    from gradgrader.authoring import pack_warnings
    from gradgrader.pack import make_pack

    with user_errors():
        target = make_pack(assignment, out, replace=replace)
        filename = load_assignment(target).filename
        for warning in pack_warnings(load_assignment(assignment)):
            err.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    typer.echo(
        f"wrote the student pack {target}; students run: "
        f"gradgrader check {shlex.quote(filename)} --assignment {shlex.quote(str(target))}"
    )


def list_assignments() -> None:
    """List the assignments shipped with gradgrader."""
    from gradgrader.assignment import load_assignment
    from gradgrader.spec import shipped_assignments

    with user_errors():
        for name, folder in shipped_assignments().items():
            spec = load_assignment(folder)
            typer.echo(f"{name:15s} {spec.title}  ({', '.join(spec.functions)})")
