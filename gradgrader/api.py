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

from gradgrader.ingest.folders import single
from gradgrader.loading import load_for_grading, open_grader
from gradgrader.result import Result
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
    spec, rub = load_for_grading(assignment, Path(rubric) if rubric is not None else None)
    with open_grader(spec, rub, allow_weak=allow_weak_sandbox) as grader:  # a weak sandbox is refused first
        return grader.grade(single(Path(submission), spec.filename))
