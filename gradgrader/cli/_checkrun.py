"""What ``gradgrader check`` does once its command line is parsed, without typer.

Typer parses it in :func:`gradgrader.cli.student.check`; a command line of the usual
options only (``check FILE [-a NAME] [--rubric TOML] [--json] [--failed]
[--allow-weak-sandbox]``) is read by :func:`gradgrader.cli._early.parse_check` instead,
and runs without importing typer or click, and without rich unless the result is shown
in a terminal's view (~40 ms of a student's check, #17). Both end here.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradgrader.cli._early import EarlySandbox
from gradgrader.cli._early import early_sandbox as _early_sandbox
from gradgrader.cli._shared import err, load, probe_isolation, user_errors

if TYPE_CHECKING:
    from gradgrader.sandbox.prestart import Prestarted


def run_check(
    path: Path,
    assignment: str | None = None,
    rubric: Path | None = None,
    as_json: bool = False,
    failed_only: bool = False,
    allow_weak: bool = False,
    watch: bool = False,
    review_ui: bool = False,
    started: object = None,
) -> int:
    """Grade one submission and show the result; the exit status: 0 full marks, 1 not,
    2 a usage error (gradgrader's errors exit 2 through :func:`user_errors`), 130 Ctrl-C
    before the first result. ``started``: the :class:`EarlySandbox` ``main`` started."""
    if review_ui and (as_json or watch):
        err.print("gradgrader: --review cannot be combined with --json or --watch", markup=False, highlight=False)
        return 2
    spec, rub, submission, grader = _open_check(path, assignment, rubric, allow_weak, started)
    from gradgrader.checks.remembered import RememberedCourse

    # The course's own values from the last check of it, if any: its first-time work
    # is done once per machine, not once per check (#17).
    memory = RememberedCourse(grader.course)
    memory.recall()
    if review_ui:
        try:
            result = grader.grade(submission)
        finally:
            grader.close()
        memory.keep()
        gc.enable()  # off while a check starts (gradgrader.cli.run); the review UI runs long
        from gradgrader.results import dumps
        from gradgrader.tui import run_review

        run_review(
            results=[json.loads(dumps(result))],
            run={"assignment": spec.name, "assignment_path": str(spec.root), "rubric": rub.source,
                 "check_path": str(path), "strict_sandbox": False},
        )
        return 0 if result.full_marks else 1
    result = None
    try:
        show, clear = _printer(as_json, spec.root, failed_only)
        while True:
            # Stamp before grading: a save made while it grades is checked next.
            watched = Path(str(submission.extra.get("notebook") or submission.path))
            before = _stamp(watched)
            result = grader.grade(submission)
            if not watch:
                # Its sandbox is done with: stopped now, its teardown (~2–4 ms) runs on
                # the other core while the result is shown; close() reaps it (#17).
                grader.stop_sandboxes()
            else:
                # Off while a check starts (gradgrader.cli.run); a --watch runs long. A single
                # check exits once it has shown its result: turned on here, the collector's
                # first pass over everything allocated so far took ~10 ms of it (#17).
                gc.enable()
            show(result)
            memory.keep()  # once shown: a first check's ~2 ms of writing is not waited for
            if not watch:
                break
            err.print(f"watching {watched} — save it to check again, Ctrl-C to stop", style="dim", highlight=False, markup=False)
            _wait_for_change(watched, before)
            if submission.notebook is not None:
                submission = _single(path, spec.filename)  # convert the saved notebook again
            clear()
    except KeyboardInterrupt:
        # Stopped before the first result: 130, as a shell reports Ctrl-C.
        return 130 if result is None else 0 if result.full_marks else 1
    finally:
        grader.close()
    return 0 if result.full_marks else 1


def _echo(text: str) -> None:
    """One line on stdout, as ``typer.echo`` writes it."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _printer(as_json: bool, root: Path, failed_only: bool) -> tuple[Callable[[Any], None], Callable[[], None]]:
    """How ``check`` shows a result, and clears the screen before the next one
    (``--watch``): one JSON object per line, or the terminal view with the pack's note
    under it (the renderer and rich's tables are imported for that view only)."""
    from gradgrader.results import dumps

    if as_json:
        return (lambda result: _echo(dumps(result))), (lambda: None)
    from gradgrader.pack import pack_note
    from gradgrader.render import output_console, result_view

    note = pack_note(root)  # the pack's scale, said under the feedback
    console = output_console()  # piped or in CI: no hard wrap at 80 columns

    def show(result: Any) -> None:
        console.print(result_view(json.loads(dumps(result)), show_passed=not failed_only))
        if note:
            console.print(f"({note})", style="dim", markup=False)

    return show, console.clear


def _single(path: Path, filename: str) -> Any:
    from gradgrader.ingest.folders import single  # the class and LMS readers stay unloaded

    return single(path, filename)


def _open_check(
    path: Path, assignment: str | None, rubric: Path | None, allow_weak: bool, started: object = None
) -> tuple[Any, Any, Any, Any]:
    """The assignment, its rubric, the submission and a grader for one `check`. The
    sandbox's zygote (a Python importing numpy, under bubblewrap) comes up while this
    process imports the grader and loads the assignment (#17): the one ``main`` started
    before parsing the command line (``started``, an :class:`EarlySandbox`) if it was
    for this assignment, else one started now. It is closed on every way out that does
    not hand it to the grader (an error, Ctrl-C)."""
    early = _early_for(assignment, started)
    try:
        from gradgrader.loading import load_for_grading, open_grader

        with user_errors():
            if assignment is None:
                from gradgrader.authoring import detect_assignment

                spec, why = detect_assignment(path)
                spec, rub = load_for_grading(spec, rubric)
                err.print(f"assignment: {spec.name} (chosen because {why})", highlight=False, markup=False)
            else:
                spec, rub = load(assignment, rubric)
            submission = _single(path, spec.filename)
            err.print("staging: the file runs in a copy of its folder's files, as grade stages them",
                      style="dim", highlight=False, markup=False)
            iso = probe_isolation(allow_weak, strict=False)
            grader, early = open_grader(spec, rub, isolation=iso, prestarted=early), None
    finally:
        if early is not None:
            early.close()
    return spec, rub, submission, grader


def _early_for(assignment: str | None, started: object) -> Prestarted | None:
    """The zygote ``main`` started for ``assignment``, else one started now."""
    if isinstance(started, EarlySandbox):
        matched, prestarted = started.take(assignment)
        if matched:
            return prestarted
    return _early_sandbox(assignment)


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
