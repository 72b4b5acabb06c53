"""The public API: load an assignment, grade one submission, read its Result.

    >>> import gradgrader
    >>> result = gradgrader.grade("softmax.py", "softmax")   # doctest: +SKIP
    >>> result.score, result.mistakes                          # doctest: +SKIP

The same steps as ``gradgrader check FILE``: the assignment is loaded and validated,
the rubric is the assignment's own (or ``rubric``), the submission is staged as
``check`` stages it, and the student's code runs only in the sandbox. A machine whose
sandbox is weak (no namespaces, no Landlock) is refused unless ``allow_weak_sandbox``.
"""

from __future__ import annotations

from pathlib import Path

from gradgrader.assignment import load_assignment
from gradgrader.grading import Grader
from gradgrader.ingest.folders import single
from gradgrader.result import Result
from gradgrader.rubric import resolve_rubric
from gradgrader.sandbox.layers import require_isolation
from gradgrader.spec import Assignment


def grade(
    submission: str | Path,
    assignment: str | Path | Assignment,
    rubric: str | Path | None = None,
    *,
    allow_weak_sandbox: bool = False,
) -> Result:
    """Grade one submission (a .py file, a notebook, or a folder holding one) against
    ``assignment`` (a shipped name, a folder, or a loaded :class:`Assignment`)."""
    spec = assignment if isinstance(assignment, Assignment) else load_assignment(assignment)
    rub = resolve_rubric(spec, Path(rubric) if rubric is not None else None)
    iso = require_isolation(allow_weak_sandbox, strict=True)
    staged = single(Path(submission), spec.filename)
    with Grader(spec, rub, isolation=iso) as grader:
        return grader.grade(staged)
