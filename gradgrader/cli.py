"""The ``gradgrader`` command: parses, calls the engine, renders. No grading logic here."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from gradgrader.errors import GradgraderError

app = typer.Typer(
    name="gradgrader",
    help="Grade gradient homework: sandboxed runs, reference and finite-difference checks, named mistakes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)

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


@contextmanager
def _user_errors():
    """Turn gradgrader's errors into one readable line and exit code 2."""
    try:
        yield
    except GradgraderError as exc:
        from rich.markup import escape

        # The message quotes TOML like [checks."id"]: escape it, or rich takes it for markup.
        err.print(f"[bold red]gradgrader:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _isolation(allow_weak: bool, strict: bool):
    """Probe the sandbox layers, say once which level is in force, refuse a weak one."""
    from gradgrader.sandbox.layers import probe, require_isolation

    err.print(probe().summary(), style="dim", highlight=False, markup=False)
    return require_isolation(allow_weak, strict)


def _load(assignment: str, rubric: Path | None):
    from gradgrader.assignment import load_assignment
    from gradgrader.rubric import resolve_rubric

    spec = load_assignment(assignment)
    return spec, resolve_rubric(spec, rubric)


OptionalAssignmentOpt = Annotated[
    str | None,
    typer.Option(
        "--assignment", "-a",
        help="A shipped assignment's name or an assignment folder (default: found from the file's name or functions).",
    ),
]


@app.command()
def check(
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
    if review_ui and (as_json or watch):
        err.print("gradgrader: --review cannot be combined with --json or --watch", markup=False, highlight=False)
        raise typer.Exit(2)
    import threading

    from gradgrader.sandbox.layers import probe

    # The sandbox probe starts a Python with numpy under bubblewrap and waits for it: run
    # it while this process imports the grader and loads the assignment (issue 17; the
    # probe is cached, so _isolation below only reads its answer).
    probing = threading.Thread(target=probe, name="gradgrader-probe", daemon=True)
    probing.start()
    from gradgrader.grading import Grader
    from gradgrader.ingest import single
    from gradgrader.results import dumps

    with _user_errors():
        if assignment is None:
            from gradgrader.authoring import detect_assignment
            from gradgrader.rubric import resolve_rubric

            spec, why = detect_assignment(path)
            rub = resolve_rubric(spec, rubric)
            err.print(f"assignment: {spec.name} (chosen because {why})", highlight=False, markup=False)
        else:
            spec, rub = _load(assignment, rubric)
        submission = single(path, spec.filename)
        err.print("staging: the file runs in a copy of its folder's files, as grade stages them",
                  style="dim", highlight=False, markup=False)
        probing.join()
        iso = _isolation(allow_weak, strict=False)
        grader = Grader(spec, rub, jobs=1, isolation=iso)
    if review_ui:
        try:
            result = grader.grade(submission)
        finally:
            grader.close()
        from gradgrader.tui import run_review

        run_review(
            results=[json.loads(dumps(result))],
            run={"assignment": spec.name, "assignment_path": str(spec.root), "rubric": rub.source,
                 "check_path": str(path), "strict_sandbox": False},
        )
        raise typer.Exit(0 if result.full_marks else 1)
    from gradgrader.pack import pack_note

    note = pack_note(spec.root)  # the pack's scale, said under the feedback
    from gradgrader.render import output_console

    console = output_console()  # piped or in CI: no hard wrap at 80 columns
    try:
        while True:
            # Stamp before grading: a save made while it grades is checked next.
            watched = Path(str(submission.extra.get("notebook") or submission.path))
            before = _stamp(watched)
            result = grader.grade(submission)
            if as_json:
                typer.echo(dumps(result))
            else:
                from gradgrader.render import result_view

                console.print(result_view(json.loads(dumps(result)), show_passed=not failed_only))
                if note:
                    console.print(f"({note})", style="dim", markup=False)
            if not watch:
                break
            err.print(f"watching {watched} — save it to check again, Ctrl-C to stop", style="dim", highlight=False, markup=False)
            _wait_for_change(watched, before)
            if submission.notebook is not None:
                submission = single(path, spec.filename)  # convert the saved notebook again
            if not as_json:
                console.clear()
    except KeyboardInterrupt:
        raise typer.Exit(0 if result.full_marks else 1) from None
    finally:
        grader.close()
    raise typer.Exit(0 if result.full_marks else 1)


def _digest(submission: Any) -> str:
    """The submission's content hash for ``--resume``; "" (grade it) if it cannot be read."""
    try:
        return str(submission.digest())
    except Exception:  # noqa: BLE001 - one unreadable submission is graded (as an error), not fatal
        return ""


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _wait_for_change(path: Path, since: tuple[int, int] | None, poll: float = 0.3) -> None:
    """Block until ``path`` differs (mtime or size) from its stamp ``since``. A file that
    disappears is waited for (editors save by writing a new file and renaming it; a
    student may move it away for a moment): said once, never a silent exit."""
    missing = False
    while True:
        now = _stamp(path)
        if now is None:
            if not missing:
                err.print(f"{path} is gone — waiting for it to come back (Ctrl-C to stop)",
                          style="yellow", highlight=False, markup=False)
                missing = True
        elif now != since or missing:
            time.sleep(0.1)  # let the editor finish writing
            return
        time.sleep(poll)


class _Progress:
    """A rich progress bar on a terminal; plain periodic lines otherwise (CI logs)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.done, self.start = total, 0, time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self.bar = None
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=err, transient=False,
                auto_refresh=False,  # no refresh thread: grading forks worker processes
            )
            self.task = self.bar.add_task(label, total=total, rate="")
            self.bar.start()

    def advance(self, submission: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        rate = f"{self.done / elapsed:.1f} sub/s" if elapsed > 0 else ""
        if self.bar is not None:
            self.bar.update(self.task, advance=1, rate=rate)
            self.bar.refresh()
        elif self.done == self.total or time.monotonic() - self._last > 2.0:
            self._last = time.monotonic()
            err.print(f"graded {self.done}/{self.total} ({rate}), last: {submission}", highlight=False, markup=False)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command()
def grade(
    folder: Annotated[
        Path,
        typer.Argument(
            help="The class: a folder (one sub-folder or .py/.ipynb file per student), or an LMS export as a "
            "folder or .zip (Canvas \"Download Submissions\", Moodle \"Download all submissions\", "
            "Gradescope \"Export Submissions\"), recognised from its contents."
        ),
    ],
    assignment: AssignmentOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results.jsonl and grades.csv.")],
    rubric: RubricOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Submissions graded at once (0, the default: one per core).")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Keep results of unchanged submissions already in OUT; grade the rest.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary table.")] = False,
    allow_weak: WeakOpt = False,
    skip_validation: Annotated[
        bool, typer.Option("--skip-validation", help="Do not grade the reference against its own checks first.")
    ] = False,
    column: Annotated[
        str | None,
        typer.Option(
            "--gradebook-column",
            help="The assignment's column in the LMS gradebook (Canvas: \"Title (assignment id)\" as in its export). "
            "Default: the assignment's name.",
            rich_help_panel="Exports",
        ),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            "--gradebook",
            help="Form of OUT/gradebook.csv: canvas, moodle or plain (default: the input's LMS, else plain).",
            rich_help_panel="Exports",
        ),
    ] = None,
    late_column: Annotated[
        bool,
        typer.Option(
            "--late-column",
            help="Add a Late column to a Canvas gradebook (Canvas imports it as a new assignment).",
            rich_help_panel="Exports",
        ),
    ] = False,
    roster: Annotated[
        Path | None,
        typer.Option(
            "--roster",
            help="Canvas's own Gradebook export (CSV): fills names, SIS ids and sections by Canvas ID.",
            rich_help_panel="Exports",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="ADDRESS",
            help="Grade on a Dask cluster: a scheduler address (tcp://host:8786), a scheduler file (.json), "
            "or local[:N] for N worker processes on this machine. Needs: pip install 'gradgrader\\[dask]'.",
            rich_help_panel="Cluster",
        ),
    ] = None,
    chunk_size: Annotated[
        int,
        typer.Option("--chunk-size", min=1, help="Submissions sent to a cluster worker at a time.", rich_help_panel="Cluster"),
    ] = 4,
    similar: Annotated[
        bool, typer.Option("--similarity", help="Then compare the submissions for shared code (as `gradgrader similarity OUT`).")
    ] = False,
) -> None:
    """Grade every submission in FOLDER (a class folder or an LMS export, folder or zip).

    Writes OUT/results.jsonl (as each finishes), OUT/grades.csv, OUT/gradebook.csv and OUT/feedback/.
    """
    from gradgrader._version import __version__
    from gradgrader.cases import with_secret
    from gradgrader.export import FORMS, export_settings, refresh_exports
    from gradgrader.grading import Grader, course_secret, run_fingerprint
    from gradgrader.ingest import open_class
    from gradgrader.overrides import write_grades_with_overrides as write_grades
    from gradgrader.render import class_summary, summary_table
    from gradgrader.results import (
        RESULTS,
        ResultsWriter,
        read_results,
        read_run,
        write_run,
    )

    with _user_errors():
        if cluster is not None:
            from gradgrader.distributed import check_cluster

            check_cluster(cluster)  # a bad value or no Dask: say so before any work
        spec, rub = _load(assignment, rubric)
        if form is not None and form not in FORMS:
            raise GradgraderError(f"--gradebook {form}: not one of {', '.join(FORMS)}")
        if out.exists() and not out.is_dir():
            raise GradgraderError(f"{out}: exists and is not a folder")
        cls = open_class(folder, spec.filename, out / ".extracted", exclude=(out,))
        submissions = cls.submissions
        err.print(cls.describe(), highlight=False, markup=False)
        for skipped in cls.skipped[:10]:
            err.print(f"  skipped {skipped.name}: {skipped.reason}", style="dim", highlight=False, markup=False)
        if len(cls.skipped) > 10:
            err.print(f"  ... and {len(cls.skipped) - 10} more skipped", style="dim", highlight=False, markup=False)
        for warning in cls.warnings:
            err.print(f"warning: {warning}", style="yellow", highlight=False, markup=False)
        if form == "canvas" and cls.kind != "canvas" and roster is None:
            err.print(
                "warning: --gradebook canvas from a class that is not a Canvas download: the gradebook's ID "
                "column stays empty and Canvas cannot match the rows; pass --roster (Canvas's gradebook export)",
                style="yellow", highlight=False, markup=False,
            )
        from gradgrader.pack import pack_note

        note = pack_note(spec.root)
        if note:
            err.print(
                f"warning: {spec.root} is a {note}. For the course's grades, grade with the course's own assignment.",
                style="yellow", highlight=False, markup=False,
            )
        # On a cluster the workers' sandboxes grade (each worker refuses a weak one itself).
        iso = _isolation(allow_weak, strict=cluster is None)
        from gradgrader.pack import is_pack

        prior = read_run(out) if (out / RESULTS).is_file() else {}
        if prior.get("assignment") not in (None, spec.name):
            raise GradgraderError(
                f"{out} holds results of the assignment {prior['assignment']!r}, not {spec.name!r}: "
                f"give another --out (or delete {out} to start over)"
            )
        secret = None
        if not is_pack(spec.root):  # a pack replays its recorded public inputs
            # Inputs no student artifact predicts: the public seed mixed with the course's secret.
            recorded = prior.get("input_secret")
            secret, source = course_secret(spec, recorded if isinstance(recorded, str) else None)
            spec = with_secret(spec, secret)
            err.print(
                "inputs: generated with the course's secret "
                + (f"(new, recorded in {out / 'run.json'})" if source == "new" else f"(from {source})"),
                style="dim", highlight=False, markup=False,
            )
        if not skip_validation and not is_pack(spec.root):
            from gradgrader.authoring import validate as validate_assignment

            report = validate_assignment(spec, iso)
            if not report.ok:
                raise GradgraderError(
                    f"the assignment {spec.name} ({spec.root}) fails its own validation, so no one is graded:\n  "
                    + "\n  ".join(report.problems)
                    + "\nFix the reference or the assignment (see `gradgrader validate`), or pass --skip-validation"
                )
        fingerprint = run_fingerprint(spec, rub)
        done: dict[str, str] = {}
        if resume:
            earlier = read_results(out, everyone=True)
            gone = sorted({r["submission"] for r in earlier} - {s.id for s in submissions})
            # A line counts as done only if it was graded under this assignment and
            # rubric: each line carries the fingerprint it was graded under (lines of
            # older runs: the run's), so an interrupted re-grade resumes correctly.
            # A result the grader failed on (``grader_failure``) is graded again.
            done = {
                r["submission"]: r.get("sha256", "")
                for r in earlier
                if r.get("fingerprint", prior.get("fingerprint", fingerprint)) == fingerprint and not r.get("grader_failure")
            }
            if len(done) < len(earlier) and prior.get("fingerprint") not in (None, fingerprint):
                err.print(
                    f"the assignment or the rubric changed (or the course's input secret) since {out} was graded: "
                    f"grading those submissions again",
                    style="yellow", highlight=False, markup=False,
                )
            if gone:
                err.print(
                    f"{len(gone)} submission(s) graded earlier are no longer in the class and are left out of the grades "
                    f"(their lines stay in results.jsonl): {', '.join(gone[:10])}{' …' if len(gone) > 10 else ''}",
                    style="yellow", highlight=False, markup=False,
                )
        todo = [s for s in submissions if not (s.id in done and done[s.id] == _digest(s))]
        kept = len(submissions) - len(todo)
        jobs = jobs or os.cpu_count() or 1
        err.print(
            f"grading {len(todo)} submission(s) of {spec.name} from {folder} "
            + (f"on the Dask cluster {cluster}" if cluster else f"with {min(jobs, max(len(todo), 1))} job(s)")
            + (f"; {kept} unchanged kept from {out}" if kept else "")
            + f"; rubric: {rub.source}",
            highlight=False, markup=False,
        )
        engine = None
        if cluster is not None and todo:
            from gradgrader.distributed import ClusterGrader

            # Connect (or start local:N) and check the workers before anything is written.
            engine = ClusterGrader(
                cluster, spec, rub, chunk_size=chunk_size, allow_weak=allow_weak,
                log=lambda message: err.print(message, highlight=False, markup=False),
            ).connect()
        try:
            writer = ResultsWriter(out, fresh=not resume)
            write_run(out, {
                "assignment": spec.name,
                "assignment_path": str(spec.root),
                "rubric": rub.source,
                "class_folder": str(cls.root.resolve()),
                "input": str(folder.resolve()),
                "input_kind": cls.kind,
                "gradgrader": __version__,
                "export": export_settings(cls.kind, column or spec.name, form, late_column, roster, spec.title),
                "fingerprint": fingerprint,
                "submissions": sorted(s.id for s in submissions),
                # The secret the inputs were generated with: --resume and review's re-grades
                # use it again. Like the rest of OUT, never for students' eyes.
                **({"input_secret": secret} if secret else {}),
            })
        except OSError as exc:
            if engine is not None:
                engine.close()
            raise GradgraderError(f"{out}: cannot write results there ({exc.strerror})") from None
    progress = _Progress(len(todo), spec.name)
    stopped = False
    failure: GradgraderError | None = None
    try:
        grader_cm = engine if engine is not None else Grader(spec, rub, jobs=jobs, isolation=iso, hidden=[folder, out])
        with grader_cm as grader:
            try:
                for result in grader.grade_all(todo, stop=lambda: stopped):
                    result = dataclasses.replace(result, fingerprint=fingerprint)
                    writer.write(result)  # a result it cannot record becomes an error line
                    progress.advance(result.submission)
            except KeyboardInterrupt:
                stopped = True
            except GradgraderError as exc:  # the cluster failed mid-run: keep what was graded
                failure = exc
            except OSError as exc:  # the results disk, not a submission
                failure = GradgraderError(f"{out}: cannot write results there ({exc}); what was written is kept: "
                                          f"run the same command with --resume once it is fixed")
    finally:
        progress.stop()
        writer.close()
        try:
            grades = write_grades(out)
        except Exception as exc:  # noqa: BLE001 - results.jsonl holds every result already
            grades = out / "grades.csv"
            failure = failure or GradgraderError(
                f"cannot write {grades} ({type(exc).__name__}: {exc}); every result is in {out / 'results.jsonl'}"
            )
    if failure is not None:
        with _user_errors():
            raise failure
    results = read_results(out)
    if stopped:
        err.print(
            f"interrupted: {len(results)} of {len(submissions)} submissions have results in {out}; "
            f"run the same command with --resume to grade the rest",
            highlight=False, markup=False,
        )
        raise typer.Exit(130)
    with _user_errors():
        try:
            exported = refresh_exports(out, results)  # the TA's overrides applied
            if exported is None:
                raise GradgraderError(f"{out / 'run.json'}: missing or unreadable, so the gradebook cannot be written")
        except GradgraderError:
            raise
        except Exception as exc:  # noqa: BLE001 - the grades are safe; say what is missing
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            raise GradgraderError(
                f"cannot write the gradebook or feedback into {out} ({why}); every result is kept in "
                f"{out / 'results.jsonl'} and {out / 'grades.csv'}: run the same command with --resume "
                f"to write the exports again without grading anyone again"
            ) from None
    failed = [r["submission"] for r in results if r.get("grader_failure")]
    if failed:
        err.print(
            f"warning: the grader failed on {len(failed)} submission(s), recorded as errors with the reason: "
            f"{', '.join(failed[:10])}{' …' if len(failed) > 10 else ''}. Run the same command with --resume "
            f"to grade them again.",
            style="yellow", highlight=False, markup=False,
        )
    broken = [r["submission"] for r in results if r.get("grader_errors")]
    if broken:
        err.print(
            f"warning: {len(broken)} submission(s) hit a problem in the assignment itself (checks marked grader-error): "
            f"{', '.join(broken[:10])}{' …' if len(broken) > 10 else ''}. Fix the assignment and grade them again.",
            style="yellow", highlight=False, markup=False,
        )
    console = Console(highlight=False)
    from gradgrader.overrides import apply_overrides, load_overrides

    shown = apply_overrides(results, load_overrides(out))  # what grades.csv says: the TA's overrides win
    if not quiet:
        console.print(summary_table(shown))
    console.print(class_summary(shown))
    console.print(
        f"results:   {out / 'results.jsonl'}\ngrades:    {grades}\n"
        f"gradebook: {exported.gradebook} ({exported.form} form)\n"
        + (f"students:  {exported.students}\n" if exported.students else "")
        + f"feedback:  {exported.feedback}/ ({len(exported.feedback_files)} files)",
        markup=False,
    )
    if similar:
        with _user_errors():
            _similarity_report(out)


@app.command()
def review(
    out: Annotated[Path, typer.Argument(help="A results folder written by `gradgrader grade … --out OUT`.")],
    allow_weak: WeakOpt = False,
) -> None:
    """Review a class's results in a terminal UI: overview, submissions, each failure in detail; re-grade, override, comment."""
    with _user_errors():
        if not (out / "results.jsonl").is_file():
            raise GradgraderError(f"{out}: no results.jsonl here; grade a class first: gradgrader grade DIR --assignment NAME --out {out}")
    from gradgrader.tui import run_review

    run_review(out, allow_weak_sandbox=allow_weak)


@app.command()
def init(
    assignment: Annotated[str, typer.Argument(help="The assignment (shipped name or folder).")],
    folder: Annotated[Path, typer.Option("--dir", help="Where to write the starter file.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write the assignment's starter file (e.g. softmax.py) into the current folder."""
    from gradgrader.assignment import load_assignment
    from gradgrader.authoring import write_starter

    with _user_errors():
        spec = load_assignment(assignment)
        target = write_starter(spec, folder, force)
    typer.echo(
        f"wrote {target}: implement its functions, then run "
        f"`gradgrader check {shlex.quote(str(target))} --assignment {shlex.quote(assignment)}`"
    )


@app.command()
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

    with _user_errors():
        spec = load_assignment(assignment)
        require_packages(spec.packages, spec.name)  # exit 2, before the sandbox starts
        iso = _isolation(allow_weak, strict=False)
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


@app.command("new-assignment")
def new_assignment(
    name: Annotated[str, typer.Argument(help="Name of the new assignment (also its folder's name).")],
    parent: Annotated[Path, typer.Option("--dir", help="Folder to create it in.")] = Path("assignments"),
) -> None:
    """Scaffold an assignment folder that already grades (a worked least-squares example)."""
    from gradgrader.authoring import scaffold

    with _user_errors():
        target = scaffold(name, parent)
    q = shlex.quote
    typer.echo(
        f"created {target}\n  gradgrader validate {q(str(target))}\n"
        f"  gradgrader grade {q(str(target / 'samples'))} --assignment {q(str(target))} --out {q('out/' + target.name)}"
    )


@app.command()
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

    with _user_errors():
        target = make_pack(assignment, out, replace=replace)
        filename = load_assignment(target).filename
        for warning in pack_warnings(load_assignment(assignment)):
            err.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    typer.echo(
        f"wrote the student pack {target}; students run: "
        f"gradgrader check {shlex.quote(filename)} --assignment {shlex.quote(str(target))}"
    )


@app.command()
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

    with _user_errors():
        try:
            data = run_autograder(
                assignment, submission, results, rubric, visibility,
                isolation=lambda: _isolation(allow_weak, strict=True),
            )
        except ValueError as exc:
            raise GradgraderError(str(exc)) from None
    typer.echo(f"score {data['score']:g}; {len(data['tests'])} test(s) written to {results}")


@app.command()
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
    with _user_errors(), Sandbox(isolation=iso) as box:
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


def _similarity_report(
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
    started = time.perf_counter()
    report = sim.analyse(
        submissions, course, archive,
        max_holders=sim.MAX_HOLDERS if max_holders is None else max_holders,
        min_match=sim.MIN_MATCH if min_match is None else min_match,
        jobs=jobs or os.cpu_count() or 1,
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


@app.command()
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
    with _user_errors():
        _similarity_report(out, archive, top, max_holders, min_match, as_json, jobs)


@app.command("assignments")
def list_assignments() -> None:
    """List the assignments shipped with gradgrader."""
    from gradgrader.assignment import load_assignment
    from gradgrader.spec import shipped_assignments

    with _user_errors():
        for name, folder in shipped_assignments().items():
            spec = load_assignment(folder)
            typer.echo(f"{name:15s} {spec.title}  ({', '.join(spec.functions)})")


def main() -> Any:
    """Console-script entry point."""
    return app()


if __name__ == "__main__":
    main()
