"""Accepted conventions (an assignment's ``[conventions]``): which reference each
function of a submission is graded against.

A course may accept several right answers that differ by a convention — CS231n's
penalty reg·ΣW² (gradient 2·reg·W) or ½·reg·ΣW² (gradient reg·W). The rule: no correct
function is ever failed for a convention. So each deciding function is graded in the
convention its own output follows; a function that follows none (it crashed, raised
NameError on Python 2's ``xrange``, or is simply wrong) is graded in the convention of
the first function that follows one, and so is every function outside the deciding
list. When two functions follow different conventions, both are accepted and the
feedback says so — a note, never a deduction (the courses do not ask for consistency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradgrader.checks.context import CheckContext
from gradgrader.findings import Failure, rel_error
from gradgrader.spec import Convention


@dataclass(frozen=True)
class Choice:
    """The convention of the submission and of each deciding function."""

    submission: Convention
    matched: bool  # some function follows an accepted convention on the deciding case
    functions: dict[str, Convention]  # every deciding function -> the convention it is graded in
    followed: dict[str, Convention]  # the deciding functions that follow one themselves

    @property
    def mixed(self) -> bool:
        return len({c.name for c in self.followed.values()}) > 1

    def note(self) -> str:
        """For the student, when two functions follow different conventions ('' otherwise)."""
        if not self.mixed:
            return ""
        parts = [f"{fn} follows {c.label}" for fn, c in self.followed.items()]
        return (
            "Note: " + "; ".join(parts) + ". Each convention is accepted and each function is graded in the "
            "one it follows, but the two disagree: pick one so that they return the same numbers."
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.submission.name, "label": self.submission.label, "matched": self.matched}
        out["functions"] = {fn: c.name for fn, c in self.functions.items()}
        if self.mixed:
            out["note"] = self.note()
        return out


def follows(ctx: CheckContext, function: str) -> Convention | None:
    """The accepted convention ``function`` follows on the deciding case: the first of the
    deciding outputs that matches an option's reference (to the assignment's rtol) decides.
    ``None`` when the function fails, or no output matches any option."""
    conventions = ctx.assignment.conventions
    assert conventions is not None
    args = ctx.inputs(function, conventions.case)
    got = ctx.student(function, args, ctx.course.dims(conventions.case), need=list(conventions.outputs))
    if isinstance(got, Failure):
        return None
    for output in conventions.outputs:
        for option in conventions.options:
            ref = ctx.course.call_reference(function, args, option.reference)[output]
            if rel_error(got[output], ref) <= ctx.assignment.rtol:
                return option
    return None


def choose_convention(ctx: CheckContext) -> Choice | None:
    """Decide the convention of every function and point ``ctx`` at its references."""
    conventions = ctx.assignment.conventions
    if conventions is None:
        return None
    followed: dict[str, Convention] = {}
    for fn in conventions.functions:
        option = follows(ctx, fn)
        if option is not None:
            followed[fn] = option
    submission = next(iter(followed.values()), conventions.options[0])
    functions = {fn: followed.get(fn, submission) for fn in conventions.functions}
    ctx.reference_file = submission.reference
    ctx.reference_files = {fn: c.reference for fn, c in functions.items()}
    return Choice(submission, bool(followed), functions, followed)
