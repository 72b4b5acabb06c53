"""The TA's commands on a graded class: ``review`` (the terminal UI) and ``similarity``
(shared code between submissions)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gradgrader.cli._app import WeakOpt
from gradgrader.cli._shared import err, user_errors
from gradgrader.errors import GradgraderError


def review(
    out: Annotated[Path, typer.Argument(help="A results folder written by `gradgrader grade … --out OUT`.")],
    allow_weak: WeakOpt = False,
) -> None:
    """Review a class's results in a terminal UI: overview, submissions, each failure in detail; re-grade, override, comment."""
    with user_errors():
        if not (out / "results.jsonl").is_file():
            raise GradgraderError(f"{out}: no results.jsonl here; grade a class first: gradgrader grade DIR --assignment NAME --out {out}")
    from gradgrader.tui import run_review

    run_review(out, allow_weak_sandbox=allow_weak)


def similarity_report(
    out: Path, archive: Path | None = None, top: int = 20, max_holders: int | None = None,
    min_match: int | None = None, as_json: bool = False, jobs: int = 0,
) -> None:
    """Compare the class in OUT (and ARCHIVE), write OUT/similarity.csv, print the ranked pairs."""
    from rich.table import Table
    from rich.text import Text

    import gradgrader.similarity as sim
    from gradgrader.review import clean

    if not (out / "results.jsonl").is_file():
        raise GradgraderError(f"{out}: no results.jsonl here; grade a class first: gradgrader grade DIR --assignment NAME --out {out}")
    if archive is not None and not archive.is_dir():
        raise GradgraderError(f"--archive {archive}: not a folder")
    submissions, missing = sim.class_submissions(out)
    course, warning = sim.course_of_run(out)
    if warning:
        err.print(f"warning: {warning}", style="yellow", highlight=False, markup=False)
    if missing:
        err.print(
            f"warning: {len(missing)} submission file(s) are gone and are left out: "
            f"{', '.join(clean(m) for m in missing[:10])}{' …' if len(missing) > 10 else ''}",
            style="yellow", highlight=False, markup=False,
        )
    from gradgrader.grading import usable_cores

    started = time.perf_counter()
    report = sim.analyse(
        submissions, course, archive,
        max_holders=sim.MAX_HOLDERS if max_holders is None else max_holders,
        min_match=sim.MIN_MATCH if min_match is None else min_match,
        jobs=jobs or usable_cores(),
    )
    elapsed = time.perf_counter() - started
    try:
        csv_path = sim.write_csv(out, report)
    except OSError as exc:
        raise GradgraderError(f"{out}: cannot write {sim.SIMILARITY} there ({exc.strerror})") from None
    if as_json:
        typer.echo(json.dumps({"note": sim.NOTE, "pairs": sim.as_rows(report)}))
        return
    console = Console(highlight=False)
    table = Table(title=f"Similar pairs ({len(report.matches)} of {report.files} files' pairs, largest match first)")
    table.add_column("#", justify="right")
    table.add_column("a", overflow="fold", ratio=2)
    table.add_column("b", overflow="fold", ratio=2)
    table.add_column("a %", justify="right")
    table.add_column("b %", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("matched lines (a | b)", overflow="fold", ratio=3)

    def lines(ranges: tuple[tuple[int, int], ...]) -> str:
        shown = sim.format_lines(ranges[:3])
        return shown + (f";… ({len(ranges) - 3} more)" if len(ranges) > 3 else "")

    for rank, m in enumerate(report.matches[:top], 1):
        table.add_row(
            str(rank), Text(clean(m.a)), Text(clean(m.b)), f"{m.a_share:.0%}", f"{m.b_share:.0%}", str(m.matched),
            Text(f"{lines(m.a_lines)} | {lines(m.b_lines)}"),
        )
    if report.matches:
        console.print(table)
    else:
        console.print("No two files share code beyond the starter.", markup=False)
    subtracted = ", ".join(Path(c).name for c in report.course_files) or "nothing (no starter found)"
    console.print(
        f"{sim.NOTE}\n"
        f"compared {report.files} class file(s)"
        + (f" and {report.archive_files} archive file(s)" if archive is not None else "")
        + f" in {elapsed:.1f} s; subtracted: {subtracted}"
        + (f"; showing the top {top}" if len(report.matches) > top else "")
        + f"\nall pairs: {csv_path}   side by side: gradgrader review {out} (key v)",
        markup=False,
    )


def similarity(
    out: Annotated[Path, typer.Argument(help="A results folder written by `gradgrader grade … --out OUT`.")],
    archive: Annotated[
        Path | None,
        typer.Option("--archive", help="A folder of earlier classes' submissions (.py/.ipynb, any depth) to compare with too."),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Pairs printed (the CSV has them all).")] = 20,
    max_holders: Annotated[
        int | None,
        typer.Option("--max-holders", min=2, help="Code found in more files than this is common idiom and ignored (default 10, as MOSS)."),
    ] = None,
    min_match: Annotated[
        int | None,
        typer.Option("--min-match", min=0, help="Smallest match reported, in normalised tokens (default 40, about three lines)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the pairs as one JSON object.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Processes that read the files (0, the default: one per core).")] = 0,
) -> None:
    """Find submissions that share code beyond the starter file: writes OUT/similarity.csv and prints the pairs.

    Renamed variables, edited comments, reordered functions and added prints do not hide a match.
    A match is a reason to look, not a verdict.
    """
    with user_errors():
        similarity_report(out, archive, top, max_holders, min_match, as_json, jobs)
