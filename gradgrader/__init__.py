"""gradgrader: a terminal autograder for gradient homework.

The public API is what ``__all__`` lists: load an assignment, grade a submission, and
the typed :class:`Result` with its checks. ``import gradgrader`` stays light: the names
are imported on first use (PEP 562), so the errors and the version cost nothing and a
front end that needs one module does not load the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gradgrader._version import __version__
from gradgrader.errors import ConfigError, GradgraderError, SandboxError, SubmissionError

if TYPE_CHECKING:
    from gradgrader.api import grade
    from gradgrader.assignment import load_assignment
    from gradgrader.grading import Grader
    from gradgrader.result import CheckRecord, Result
    from gradgrader.rubric import resolve_rubric
    from gradgrader.spec import Assignment
    from gradgrader.submission import Submission

_LAZY = {
    "grade": "gradgrader.api",
    "load_assignment": "gradgrader.assignment",
    "resolve_rubric": "gradgrader.rubric",
    "Grader": "gradgrader.grading",
    "Result": "gradgrader.result",
    "CheckRecord": "gradgrader.result",
    "Assignment": "gradgrader.spec",
    "Submission": "gradgrader.submission",
}

__all__ = [
    "Assignment",
    "CheckRecord",
    "ConfigError",
    "Grader",
    "GradgraderError",
    "Result",
    "SandboxError",
    "Submission",
    "SubmissionError",
    "__version__",
    "grade",
    "load_assignment",
    "resolve_rubric",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradgrader' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
