"""Ready to grade: load the assignment, resolve its rubric, apply the weak-sandbox
policy, build the :class:`~gradgrader.grading.Grader`. Every front end that grades
(``check``, ``grade``, review's re-grade, the Gradescope autograder, the Dask workers
and the public API) starts here, so the steps and their order are written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gradgrader.assignment import load_assignment
from gradgrader.cases import with_secret
from gradgrader.grading import Grader
from gradgrader.rubric import Rubric, resolve_rubric
from gradgrader.sandbox.layers import Isolation, require_isolation
from gradgrader.sandbox.prestart import Prestarted
from gradgrader.spec import Assignment


def load_for_grading(
    assignment: str | Path | Assignment, rubric: Path | Rubric | None = None, secret: str | None = None
) -> tuple[Assignment, Rubric]:
    """The assignment (a shipped name, a folder, or one already loaded) with its inputs
    generated from the course's ``secret`` (none: the public seed), and its rubric:
    ``rubric`` (a file or one already resolved), else the assignment's own, else the
    default."""
    spec = assignment if isinstance(assignment, Assignment) else load_assignment(assignment)
    spec = with_secret(spec, secret)
    rub = rubric if isinstance(rubric, Rubric) else resolve_rubric(spec, rubric)
    return spec, rub


def open_grader(
    assignment: str | Path | Assignment,
    rubric: Path | Rubric | None = None,
    *,
    secret: str | None = None,
    isolation: Isolation | None = None,
    allow_weak: bool = False,
    strict: bool = True,
    where: str = "",
    jobs: int = 1,
    hidden: Iterable[Path] = (),
    prestarted: Prestarted | None = None,
) -> Grader:
    """A Grader of ``assignment`` (loaded as :func:`load_for_grading` does) in this
    machine's sandbox: ``isolation`` when the caller probed it already, else the probe's,
    refused when weak unless ``allow_weak`` (``strict`` false: never refused, for a
    student's own file; ``where`` leads the refusal's message). ``hidden`` folders are kept from
    every sandboxed process; ``prestarted``: a zygote started early for it (see
    :class:`~gradgrader.grading.Grader`). Close it (or use it as a context manager)."""
    spec, rub = load_for_grading(assignment, rubric, secret)
    iso = isolation if isolation is not None else require_isolation(allow_weak, strict, where)
    return Grader(spec, rub, jobs=jobs, isolation=iso, hidden=hidden, prestarted=prestarted)
