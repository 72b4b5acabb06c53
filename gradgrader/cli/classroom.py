"""``gradgrader grade``: a whole class into a results folder (``gradgrader.run.RunFolder``).

The command reads as its steps: open the class; settle the results folder (whose
assignment it holds, the course's input secret, the resume plan); grade what the plan
says, locally or on a Dask cluster, each result written as it comes; then grades.csv,
the gradebook and the feedback, and a summary.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from gradgrader.cli._app import AssignmentOpt, RubricOpt, WeakOpt
from gradgrader.cli._progress import Progress
from gradgrader.cli._shared import load, probe_isolation, say, user_errors
from gradgrader.cli.classwork import similarity_report
from gradgrader.errors import GradgraderError

if TYPE_CHECKING:
    from gradgrader.export import Exported
    from gradgrader.ingest import ClassExport
    from gradgrader.result import Result
    from gradgrader.results import ResultsWriter
    from gradgrader.rubric import Rubric
    from gradgrader.run import ResumePlan, RunFolder, RunRecord
    from gradgrader.sandbox.layers import Isolation
    from gradgrader.sandbox.prestart import Prestarted
    from gradgrader.spec import Assignment


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
    from gradgrader.cli._early import prestart_for
    from gradgrader.loading import open_grader
    from gradgrader.pack import is_pack
    from gradgrader.run import RunFolder
    from gradgrader.secret import run_fingerprint

    with user_errors():
        if cluster is not None:
            from gradgrader.distributed import check_cluster

            check_cluster(cluster)  # a bad value or no Dask: say so before any work
        spec, rub = load(assignment, rubric)
        # The validation's sandbox starts now and comes up on the other core while the
        # class is opened (~0.1 s of a run's start, #17); it is adopted or closed.
        validating = not skip_validation and not is_pack(spec.root)  # a student pack has no reference
        early = prestart_for(spec.root) if validating and cluster is None else None
        try:
            cls = _open_class(folder, out, spec, form, roster)
            # On a cluster the workers' sandboxes grade (each worker refuses a weak one itself).
            iso = probe_isolation(allow_weak, strict=cluster is None)
            run = RunFolder(out)
            prior = run.prior(spec.name)
            spec, secret = _course_inputs(spec, prior, out)
        except BaseException:
            if early is not None:
                early.close()
            raise
        if validating:
            _validate(spec, iso, early)
        fingerprint = run_fingerprint(spec, rub)
        plan = run.plan(cls.submissions, fingerprint, resume, prior)
        from gradgrader.grading import usable_cores

        jobs = jobs or usable_cores()
        _say_plan(plan, spec, rub, folder, out, cluster, jobs)
        # Connect (or start local:N) and check the workers before anything is written.
        engine = _connect(cluster, spec, rub, chunk_size, allow_weak) if cluster is not None and plan.todo else None
        export = _export_settings(cls, spec, column, form, late_column, roster)
        writer = _start(run, _record(spec, rub, cls, folder, export, fingerprint, secret), resume, engine)

    def grader() -> Any:
        return engine if engine is not None else open_grader(spec, rub, isolation=iso, jobs=jobs, hidden=[folder, out])

    # Graded here (one job, or one submission) or by workers and a cluster elsewhere.
    here = engine is None and (jobs == 1 or len(plan.todo) <= 1)
    stopped, failure, grades, read = _grade_todo(run, writer, grader, plan.todo, fingerprint, spec.name, collect=here)
    if failure is not None:
        with user_errors():
            raise failure
    results = read if read is not None else run.results()
    if stopped:
        say(f"interrupted: {len(results)} of {len(cls.submissions)} submissions have results in {out}; "
            f"run the same command with --resume to grade the rest")
        raise typer.Exit(130)
    with user_errors():
        exported = _export(run, results)
    _warn_grader_problems(results)
    _summary(run, results, grades, exported, quiet)
    if similar:
        with user_errors():
            similarity_report(out)


# --- before grading -------------------------------------------------------------------


def _open_class(folder: Path, out: Path, spec: Assignment, form: str | None, roster: Path | None) -> ClassExport:
    """The class in ``folder`` (a folder or an LMS export), said in a few lines."""
    from gradgrader.export import FORMS
    from gradgrader.ingest import open_class
    from gradgrader.pack import pack_note

    if form is not None and form not in FORMS:
        raise GradgraderError(f"--gradebook {form}: not one of {', '.join(FORMS)}")
    if out.exists() and not out.is_dir():
        raise GradgraderError(f"{out}: exists and is not a folder")
    cls = open_class(folder, spec.filename, out / ".extracted", exclude=(out,))
    say(cls.describe())
    for skipped in cls.skipped[:10]:
        say(f"  skipped {skipped.name}: {skipped.reason}", "dim")
    if len(cls.skipped) > 10:
        say(f"  ... and {len(cls.skipped) - 10} more skipped", "dim")
    for warning in cls.warnings:
        say(f"warning: {warning}", "yellow")
    if form == "canvas" and cls.kind != "canvas" and roster is None:
        say(
            "warning: --gradebook canvas from a class that is not a Canvas download: the gradebook's ID "
            "column stays empty and Canvas cannot match the rows; pass --roster (Canvas's gradebook export)",
            "yellow",
        )
    note = pack_note(spec.root)
    if note:
        say(f"warning: {spec.root} is a {note}. For the course's grades, grade with the course's own assignment.", "yellow")
    return cls


def _course_inputs(spec: Assignment, prior: dict[str, Any], out: Path) -> tuple[Assignment, str | None]:
    """The assignment with inputs no student artifact predicts (the public seed mixed with
    the course's secret; the one ``out`` recorded first), and that secret. A pack replays
    its recorded public inputs: no secret."""
    from gradgrader.cases import with_secret
    from gradgrader.pack import is_pack
    from gradgrader.secret import course_secret

    if is_pack(spec.root):
        return spec, None
    recorded = prior.get("input_secret")
    secret, source = course_secret(spec, recorded if isinstance(recorded, str) else None)
    say(
        "inputs: generated with the course's secret "
        + (f"(new, recorded in {out / 'run.json'})" if source == "new" else f"(from {source})"),
        "dim",
    )
    return with_secret(spec, secret), secret


def _validate(spec: Assignment, iso: Isolation, early: Prestarted | None = None) -> None:
    """Refuse to grade anyone against an assignment whose reference fails its own checks
    (``early``: a zygote started for it, adopted or closed)."""
    from gradgrader.authoring import validate as validate_assignment

    report = validate_assignment(spec, iso, early)
    if not report.ok:
        raise GradgraderError(
            f"the assignment {spec.name} ({spec.root}) fails its own validation, so no one is graded:\n  "
            + "\n  ".join(report.problems)
            + "\nFix the reference or the assignment (see `gradgrader validate`), or pass --skip-validation"
        )


def _say_plan(plan: ResumePlan, spec: Assignment, rub: Rubric, folder: Path, out: Path, cluster: str | None, jobs: int) -> None:
    if plan.regrading_stale:
        say(
            f"the assignment or the rubric changed (or the course's input secret) since {out} was graded: "
            f"grading those submissions again",
            "yellow",
        )
    if plan.gone:
        say(
            f"{len(plan.gone)} submission(s) graded earlier are no longer in the class and are left out of the grades "
            f"(their lines stay in results.jsonl): {_some(plan.gone)}",
            "yellow",
        )
    kept, todo = len(plan.kept), len(plan.todo)
    say(
        f"grading {todo} submission(s) of {spec.name} from {folder} "
        + (f"on the Dask cluster {cluster}" if cluster else f"with {min(jobs, max(todo, 1))} job(s)")
        + (f"; {kept} unchanged kept from {out}" if kept else "")
        + f"; rubric: {rub.source}"
    )


def _some(ids: Sequence[str]) -> str:
    return f"{', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}"


def _connect(cluster: str, spec: Assignment, rub: Rubric, chunk_size: int, allow_weak: bool) -> Any:
    from gradgrader.distributed import ClusterGrader

    return ClusterGrader(cluster, spec, rub, chunk_size=chunk_size, allow_weak=allow_weak, log=say).connect()


def _export_settings(
    cls: ClassExport, spec: Assignment, column: str | None, form: str | None, late_column: bool, roster: Path | None
) -> dict[str, Any]:
    from gradgrader.export import export_settings

    return export_settings(cls.kind, column or spec.name, form, late_column, roster, spec.title)


def _record(
    spec: Assignment, rub: Rubric, cls: ClassExport, folder: Path, export: dict[str, Any], fingerprint: str, secret: str | None
) -> RunRecord:
    from gradgrader._version import __version__
    from gradgrader.run import RunRecord

    return RunRecord(
        assignment=spec.name,
        assignment_path=str(spec.root),
        rubric=rub.source,
        class_folder=str(cls.root.resolve()),
        input=str(folder.resolve()),
        input_kind=cls.kind,
        gradgrader=__version__,
        export=export,
        fingerprint=fingerprint,
        submissions=tuple(s.id for s in cls.submissions),
        input_secret=secret,
    )


def _start(run: RunFolder, record: RunRecord, resume: bool, engine: Any) -> ResultsWriter:
    """Open results.jsonl (fresh unless resuming) and record run.json."""
    try:
        writer = run.writer(fresh=not resume)
        run.record_run(record)
    except OSError as exc:
        if engine is not None:
            engine.close()
        raise GradgraderError(f"{run.out}: cannot write results there ({exc.strerror})") from None
    return writer


# --- grading ------------------------------------------------------------------------------


def _grade_todo(
    run: RunFolder, writer: ResultsWriter, grader: Callable[[], Any], todo: Sequence[Any], fingerprint: str, label: str,
    collect: bool = True,
) -> tuple[bool, GradgraderError | None, Path, list[Result] | None]:
    """Grade ``todo`` with ``grader()`` (a Grader or a ClusterGrader), each result written
    as it comes, then rewrite grades.csv whatever happened. Returns whether Ctrl-C stopped
    it, the failure to report (what was graded is kept), grades.csv's path, and the
    results as results.jsonl now holds them (read once for grades.csv and what follows;
    ``None`` if they could not be read). ``collect``: keep the cyclic garbage collector on
    (this process grades the submissions itself)."""
    progress = Progress(len(todo), label)
    stopped = False
    failure: GradgraderError | None = None
    # While workers (or a cluster) grade, this process's cyclic collector is off: what it
    # keeps — each result, as plain records — holds no cycles, and with 1,000 results kept
    # its full passes took ~0.15 s of the CPU the workers grade on (#17). On again after;
    # a process that grades the submissions itself keeps it on (their failures leave
    # cycles), and so does each worker (grading._worker_init).
    collecting = gc.isenabled()
    if not collect:
        gc.disable()
    try:
        with grader() as engine:
            try:
                for result in engine.grade_all(todo, stop=lambda: stopped):
                    result = dataclasses.replace(result, fingerprint=fingerprint)
                    writer.write(result)  # a result it cannot record becomes an error line
                    progress.advance(result.submission)
            except KeyboardInterrupt:
                stopped = True
            except GradgraderError as exc:  # the cluster failed mid-run: keep what was graded
                failure = exc
            except OSError as exc:  # the results disk, not a submission
                failure = GradgraderError(f"{run.out}: cannot write results there ({exc}); what was written is kept: "
                                          f"run the same command with --resume once it is fixed")
    finally:
        if collecting:
            gc.enable()
        progress.stop()
        try:
            writer.close()  # the last lines are synced to the disk here
        except OSError as exc:
            failure = failure or GradgraderError(
                f"{run.out}: cannot write results there ({exc}); what was written is kept: "
                f"run the same command with --resume once it is fixed"
            )
        results: list[Result] | None = None
        try:
            # The lines as written (a fresh results.jsonl), unless something stopped them.
            results = run.results() if stopped or failure is not None else run.results_written(writer)
            grades = run.write_grades(results)
        except Exception as exc:  # noqa: BLE001 - results.jsonl holds every result already
            grades = run.grades_path
            failure = failure or GradgraderError(
                f"cannot write {grades} ({type(exc).__name__}: {exc}); every result is in {run.results_path}"
            )
    return stopped, failure, grades, results


# --- after grading ------------------------------------------------------------------------


def _export(run: RunFolder, results: list[Result]) -> Exported:
    """The gradebook, students.csv and feedback, with the TA's overrides applied."""
    from gradgrader.export import refresh_exports

    try:
        exported = refresh_exports(run.out, results)
    except Exception as exc:  # noqa: BLE001 - the grades are safe; say what is missing
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        raise GradgraderError(
            f"cannot write the gradebook or feedback into {run.out} ({why}); every result is kept in "
            f"{run.results_path} and {run.grades_path}: run the same command with --resume "
            f"to write the exports again without grading anyone again"
        ) from None
    if exported is None:
        raise GradgraderError(f"{run.run_path}: missing or unreadable, so the gradebook cannot be written")
    return exported


def _warn_grader_problems(results: list[Result]) -> None:
    failed = [r.submission for r in results if r.grader_failure is not None]
    if failed:
        say(
            f"warning: the grader failed on {len(failed)} submission(s), recorded as errors with the reason: "
            f"{_some(failed)}. Run the same command with --resume to grade them again.",
            "yellow",
        )
    broken = [r.submission for r in results if r.grader_errors]
    if broken:
        say(
            f"warning: {len(broken)} submission(s) hit a problem in the assignment itself (checks marked grader-error): "
            f"{_some(broken)}. Fix the assignment and grade them again.",
            "yellow",
        )


def _summary(run: RunFolder, results: list[Result], grades: Path, exported: Exported, quiet: bool) -> None:
    """The grades as grades.csv has them (the TA's overrides win) and where every file is."""
    from gradgrader.render import class_summary, summary_table

    console = Console(highlight=False)
    shown = run.reviewed(results)
    if not quiet:
        console.print(summary_table(shown))
    console.print(class_summary(shown))
    console.print(
        f"results:   {run.results_path}\ngrades:    {grades}\n"
        f"gradebook: {exported.gradebook} ({exported.form} form)\n"
        + (f"students:  {exported.students}\n" if exported.students else "")
        + f"feedback:  {exported.feedback}/ ({len(exported.feedback_files)} files)",
        markup=False,
    )
