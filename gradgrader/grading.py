"""One submission in, one Result out; a batch is a map over submissions.

submission → sandbox (Session) → raw outputs → checks → diagnosis → rubric → Result.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from pathlib import Path

from gradgrader import __version__
from gradgrader.checks import run_check
from gradgrader.checks.base import CheckContext, CheckResult, Course
from gradgrader.conventions import choose_convention, with_note
from gradgrader.hints import RUNTIME_FEEDBACK
from gradgrader.ingest import Submission
from gradgrader.results import CheckRecord, Result
from gradgrader.rubric import Rubric
from gradgrader.sandbox import ChildLimits, Sandbox, Session
from gradgrader.sandbox.layers import Isolation, probe
from gradgrader.sandbox.runner import Problem, StagingError, new_run_dir, scratch_home
from gradgrader.spec import Assignment, CheckSpec, Feedback, data_roots


def _feedback(assignment: Assignment, spec: CheckSpec, check: CheckResult) -> dict | None:
    """The diagnosis shown under a failing check: the finding, the named mistake's title,
    explanation and next step from the assignment's feedback.toml, else the check's own
    next step."""
    if check.passed:
        return None
    out = check.finding.to_json() if check.finding is not None else {}
    mistake = (check.finding.mistake if check.finding is not None else None) or (check.mistakes[0] if check.mistakes else None)
    runtime = mistake in RUNTIME_FEEDBACK
    if mistake:
        out["mistake"] = mistake
        fb = assignment.feedback.get(mistake) or (Feedback(*RUNTIME_FEEDBACK[mistake]) if runtime else None)
        if fb is not None:
            out["title"] = fb.title
            out["explanation"] = fb.explanation
            if fb.next_step:
                out["next_step"] = fb.next_step
    if "next_step" not in out and spec.next_step and not runtime:
        # The check's next step is about the math: not for code that did not run.
        out["next_step"] = spec.next_step
    return out or None


def _record(assignment: Assignment, rubric: Rubric, spec: CheckSpec, check: CheckResult) -> CheckRecord:
    item = rubric.items[check.id]
    cases = tuple(
        {"case": c.case, "passed": c.passed, **({"error": c.error} if c.error is not None else {})} for c in check.cases
    )
    return CheckRecord(
        id=check.id,
        function=check.function,
        passed=check.passed,
        score=item.score(check.fraction, check.mistakes),
        max_score=item.points,
        message=check.message,
        mistakes=check.mistakes,
        kind=check.kind,
        diagnosis=_feedback(assignment, spec, check),
        feedback=item.feedback if not check.passed else "",
        cases=cases,
    )


def _run_safely(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run a check; a failure of the course's own code (a hook, a recording) becomes a
    failed check that says so, instead of losing the whole submission's result."""
    try:
        return run_check(check, ctx)
    except Exception as exc:  # noqa: BLE001 - course code and packs are outside our control
        message = (
            f"this check could not run — a problem in the assignment, not in your code: "
            f"{type(exc).__name__}: {exc}"
        )
        return CheckResult(check.id, check.function, check.kind, False, 0.0, message, ("grader-error",))


def load_message(assignment: Assignment, problem: Problem | None) -> str:
    from gradgrader.hints import hint_for

    name = assignment.filename
    if problem is None:
        return f"{name} could not be loaded"
    hint = hint_for(problem.exc_type, problem.message) if problem.exc_type else ""
    if problem.exc_type in {"SyntaxError", "IndentationError", "TabError"}:
        where = f" on line {problem.line}" if problem.line else ""
        code = f": {problem.code.strip()}" if problem.code.strip() else ""
        return f"{name} has a syntax error{where}{code} ({problem.message}); " + (hint or "fix it and run again")
    if problem.kind == "timeout":
        return f"importing {name} did not finish: {problem.message}. Move slow work out of the module's top level"
    return f"{name} fails when it is imported: {problem.describe()}" + (f" — {hint}" if hint else "")


def child_limits(assignment: Assignment) -> ChildLimits:
    return ChildLimits(memory_mb=assignment.limits.memory_mb, cpu_s=assignment.limits.budget + 5)


def grade_submission(course: Course, rubric: Rubric, submission: Submission, sandbox: Sandbox) -> Result:
    """Grade one submission; never raises for anything the submission does."""
    assignment = course.assignment
    start = time.perf_counter()

    def result(status: str, checks: tuple[CheckRecord, ...], message: str = "", output: str = "") -> Result:
        mistakes: list[str] = []
        for c in checks:
            mistakes += [m for m in c.mistakes if m not in mistakes]
        # a notebook's messages name its cells, not the generated module's lines
        return submission.relocate(Result(
            submission=submission.id,
            # A path may hold bytes that are not UTF-8 (a folder a student named): as text.
            path=str(submission.path or submission.folder or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
            assignment=assignment.name,
            status=status,
            score=round(sum(c.score for c in checks), 6),
            max_score=rubric.max_score,
            checks=checks,
            mistakes=tuple(mistakes),
            elapsed_s=round(time.perf_counter() - start, 4),
            message=message,
            output=output,
            sha256=submission.digest(),
            extra={**submission.extra, "gradgrader": __version__, "sandbox": sandbox.isolation.level},
        ))

    if submission.path is None:
        return result("error", (), submission.problem or "no file to grade")
    try:
        session = Session(
            sandbox,
            submission.path,
            assignment.module_name,
            list(assignment.functions),
            child_limits(assignment),
            budget=assignment.limits.budget,
            folder=submission.folder,
            helpers=[assignment.root / h for h in assignment.helpers],
            output_cap=assignment.limits.output_kb << 10,
        )
    except StagingError as exc:  # a link or a special file: this submission's problem only
        return result("error", (), f"{assignment.filename} could not be set up for grading: {exc}")
    if not session.load.ok:
        # Close first: the output pipe is drained by a thread, complete only once the
        # process has been reaped.
        session.close()
        return result("error", (), load_message(assignment, session.load.problem), session.output())
    try:
        ctx = CheckContext(course, session)
        _prefetch(ctx, rubric)
        convention = choose_convention(ctx)
        records = tuple(
            _record(assignment, rubric, check, _run_safely(check, ctx)) for check in assignment.checks if check.id in rubric.items
        )
    finally:
        session.close()
    if convention is not None:
        records = with_note(convention, records)
    graded = result("graded", records, "", session.output())
    if convention is not None:
        graded.extra["convention"] = convention.to_json()
    broken = [r.id for r in records if "grader-error" in r.mistakes]
    if broken:
        graded.extra["grader_errors"] = broken  # the TA must look: not the student's doing
    return graded


def _prefetch(ctx: CheckContext, rubric: Rubric) -> None:
    """Every case a function's checks will call it on, in one round trip per function."""
    assignment = ctx.assignment
    for name, fn in assignment.functions.items():
        if ctx.function_problem(name) is not None:
            continue
        cases = sorted({c for check in assignment.checks if check.function == name and check.id in rubric.items for c in check.cases})
        arg_lists = []
        for case in cases:
            args = ctx.inputs(name, case)
            arg_lists.append([args[a] for a in fn.args])
        ctx.session.prefetch(name, arg_lists, [o.name for o in fn.outputs], fn.timeout)


def run_fingerprint(assignment: Assignment, rubric: Rubric) -> str:
    """A digest of everything that decides a score besides the submission: the
    assignment's files (spec, reference, hooks, feedback, helpers; not its samples) and
    the rubric's points. ``grade --resume`` grades everyone again when it changes."""
    h = hashlib.sha256(__version__.encode())  # a new gradgrader may score differently
    for item in sorted(rubric.items.values(), key=lambda i: i.check_id):
        h.update(repr((item.check_id, item.points, item.partial, item.feedback, item.zero_for)).encode())
    root = assignment.root
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] != "samples" and "__pycache__" not in rel.parts:
            h.update(str(rel).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


# The Grader of a forked worker process (multiprocessing needs a module-level target).
_WORKER: Grader | None = None


def _worker_init(grader: Grader) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    _WORKER = grader


def _grade_in_worker(submission: Submission) -> Result:
    assert _WORKER is not None
    return _WORKER.grade(submission)


class Grader:
    """Grades submissions of one assignment, ``jobs`` at a time.

    With ``jobs`` > 1 on Linux and macOS the work is spread over forked worker
    processes — the grader's own checks are Python too, and threads would share one
    GIL — each with its own sandbox (zygote). The reference, the generated inputs and
    their expected values are prepared once in the parent and inherited by the fork."""

    def __init__(
        self,
        assignment: Assignment,
        rubric: Rubric,
        jobs: int = 1,
        isolation: Isolation | None = None,
        hidden: Iterable[Path] = (),
    ) -> None:
        self.course = Course(assignment)
        self.rubric = rubric
        self.jobs = max(1, jobs)
        self.isolation = isolation if isolation is not None else probe()
        self._scratch = new_run_dir()
        # What a student process must not see even read-only (under namespaces): the
        # course's folders (references, hidden cases), the class and results folders
        # given by the caller, and the other workers' scratch space.
        self.hidden = [scratch_home(), assignment.root, *(r / d for r in data_roots() for d in ("assignments", "rubrics")), *hidden]
        self._boxes: dict[tuple[int, int], Sandbox] = {}
        self._lock = threading.Lock()
        self._pool: Executor | None = None

    def _sandbox(self) -> Sandbox:
        key = (os.getpid(), threading.get_ident())
        box = self._boxes.get(key)
        if box is None:
            folder = self._scratch / f"worker-{key[0]}-{key[1]}"
            folder.mkdir(exist_ok=True)  # ids can be reused by a later pool
            box = Sandbox(folder, self.isolation, self.hidden)
            with self._lock:
                self._boxes[key] = box
        return box

    def grade(self, submission: Submission) -> Result:
        return grade_submission(self.course, self.rubric, submission, self._sandbox())

    def grade_all(self, submissions: Iterable[Submission], stop: Callable[[], bool] = lambda: False) -> Iterator[Result]:
        """Yield results as submissions finish (not in input order when jobs > 1)."""
        pending = list(submissions)
        if self.jobs == 1 or len(pending) <= 1:
            for sub in pending:
                if stop():
                    return
                yield self.grade(sub)
            return
        jobs = min(self.jobs, len(pending))
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            pool: ProcessPoolExecutor | ThreadPoolExecutor = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_worker_init, initargs=(self,)
            )
            self._pool = pool
            task: Callable[[Submission], Result] = _grade_in_worker
        else:  # pragma: no cover - Windows: threads, one sandbox each
            pool = ThreadPoolExecutor(jobs, thread_name_prefix="gradgrader")
            task = self.grade
        try:
            yield from self._pipeline(pool, task, pending, jobs, stop)
        except BaseException:
            # Ctrl-C (or a failure): stop the workers and their sandboxes at once
            # instead of letting the submissions in progress run out their budget.
            self.abort()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @staticmethod
    def _pipeline(
        pool: Executor, task: Callable[[Submission], Result], pending: list[Submission], jobs: int, stop: Callable[[], bool]
    ) -> Iterator[Result]:
        """Keep ``jobs`` submissions in flight; yield each result as it completes."""
        queue = iter(pending)
        running: set[Future[Result]] = set()
        for sub in queue:
            running.add(pool.submit(task, sub))
            if len(running) >= jobs:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                if not stop():
                    nxt = next(queue, None)
                    if nxt is not None:
                        running.add(pool.submit(task, nxt))

    def abort(self) -> None:
        """Kill every worker and sandbox now (submissions in progress get no result)."""
        pool = self._pool
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    proc.kill()
        with self._lock:
            for box in self._boxes.values():
                box.close_zygote()

    def close(self) -> None:
        with self._lock:
            for (pid, _), box in self._boxes.items():
                if pid == os.getpid():
                    box.close()
            self._boxes.clear()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
