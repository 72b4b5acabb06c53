"""From a check's result to its record in a Result, and the error result of a submission.

A record is scored by the rubric and carries the feedback a student reads: the
finding, the named mistake's explanation from feedback.toml (or the runtime texts of
:mod:`gradgrader.hints`), the check's next step, and the note of mixed conventions.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from gradgrader._version import __version__
from gradgrader.conventions import Choice
from gradgrader.findings import CheckResult
from gradgrader.hints import RAISED_FEEDBACK, RUNTIME_FEEDBACK, hint_for
from gradgrader.result import (
    CheckRecord,
    ConventionChoice,
    GraderFailure,
    Result,
    typed_extra,
    valid_text,
)
from gradgrader.rubric import Rubric
from gradgrader.sandbox import Problem
from gradgrader.spec import Assignment, CheckSpec, Feedback, feedback_for
from gradgrader.submission import Submission


def feedback(assignment: Assignment, spec: CheckSpec, check: CheckResult) -> dict | None:
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
        fb = feedback_for(assignment, mistake, check.function) or (Feedback(*RUNTIME_FEEDBACK[mistake]) if runtime else None)
        if mistake == "crashed" and check.message.startswith(f"{check.function} raised "):
            # An ordinary exception, not the process ending (the message is ours: describe_problem).
            fb = Feedback(*RAISED_FEEDBACK)
        if fb is not None:
            out["title"] = fb.title
            out["explanation"] = fb.explanation
            if fb.next_step:
                out["next_step"] = fb.next_step
    if "next_step" not in out and spec.next_step and not runtime:
        # The check's next step is about the math: not for code that did not run.
        out["next_step"] = spec.next_step
    return out or None


def record(assignment: Assignment, rubric: Rubric, spec: CheckSpec, check: CheckResult) -> CheckRecord:
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
        diagnosis=feedback(assignment, spec, check),
        feedback=item.feedback if not check.passed else "",
        cases=cases,
        advice=check.advice,
    )


def with_note(choice: Choice, records: tuple[CheckRecord, ...]) -> tuple[CheckRecord, ...]:
    """The note of a mixed choice appended to the first check of each function graded in
    another convention than the submission's (shown by ``check`` and the review)."""
    note = choice.note()
    if not note:
        return records
    pending = {fn for fn, c in choice.followed.items() if c.name != choice.submission.name}
    out = []
    for r in records:
        if r.function in pending:
            pending.discard(r.function)
            sep = " " if not r.message or r.message.endswith((".", "!", "?")) else ". "
            r = replace(r, message=f"{r.message}{sep}{note}".strip())
        out.append(r)
    return tuple(out)


def load_message(assignment: Assignment, problem: Problem | None) -> str:
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


def failure_result(
    assignment: Assignment,
    rubric: Rubric,
    submission: Submission,
    stage: str,
    exc: BaseException | str,
    start: float | None = None,
    sandbox: str = "",
) -> Result:
    """The error result of a submission the grader failed on while ``stage`` (staging,
    grading, recording …): built without touching the submission's files, so it cannot
    fail the same way again."""
    what = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    try:
        digest = submission.digest()
    except Exception:  # noqa: BLE001 - the file may be what failed
        digest = ""
    own: dict = {}
    with contextlib.suppress(Exception):
        own = typed_extra(submission.extra)
    return Result(
        submission=submission.id,
        path=valid_text(str(submission.path or submission.folder or "")),
        assignment=assignment.name,
        status="error",
        score=0.0,
        max_score=rubric.max_score,
        checks=(),
        mistakes=(),
        elapsed_s=round(time.perf_counter() - start, 4) if start is not None else 0.0,
        message=(
            f"the grader failed on this submission ({stage}: {what}); this is a problem of the "
            f"grader, not a verdict on the code: the course staff will grade it again"
        ),
        sha256=digest,
        **{**own, "gradgrader": __version__, "grader_failure": GraderFailure(stage, what), "sandbox": sandbox or None},
    )


def graded_result(
    result: Callable[..., Result], output: str, timeouts: int, convention: Choice | None, records: tuple[CheckRecord, ...]
) -> Result:
    """The result of a submission whose checks ran: the convention's note and what the
    TA must know (time-outs, checks the grader could not run)."""
    if convention is not None:
        records = with_note(convention, records)
    broken = tuple(r.id for r in records if "grader-error" in r.mistakes)  # the TA must look
    return replace(
        result("graded", records, "", output),
        convention=ConventionChoice.from_json(convention.to_json()) if convention is not None else None,
        timeouts=timeouts or None,  # calls stopped at their time limit (issue 17)
        grader_errors=broken or None,
    )


def submission_result(
    assignment: Assignment, rubric: Rubric, submission: Submission, sandbox_level: str, start: float,
    status: str, checks: tuple[CheckRecord, ...], message: str = "", output: str = "",
) -> Result:
    """A submission's Result from its check records (scored by the rubric), with what
    the run records beside them: version, sandbox level, elapsed time, digest."""
    mistakes: list[str] = []
    for c in checks:
        mistakes += [m for m in c.mistakes if m not in mistakes]
    # a notebook's messages name its cells, not the generated module's lines
    return submission.relocate(Result(
        submission=submission.id,
        # A path may hold bytes that are not UTF-8 (a folder a student named): as text.
        path=valid_text(str(submission.path or submission.folder or "")),
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
        **{**typed_extra(submission.extra), "gradgrader": __version__, "sandbox": sandbox_level},
    ))
