"""The only code that starts or talks to processes running student code.

The names below are imported on first use (PEP 562): ``gradgrader.sandbox.layers``,
``.staging`` and ``.zygote`` load without numpy, so a student's ``check`` can start its
sandbox before the grader imports numpy and its checks (#17).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradgrader._lazy import lazy_names

if TYPE_CHECKING:
    from gradgrader.sandbox.model import ChildLimits, LoadReport, Problem, Returned
    from gradgrader.sandbox.runner import Sandbox
    from gradgrader.sandbox.session import Session

__all__ = ["ChildLimits", "LoadReport", "Problem", "Returned", "Sandbox", "Session"]

_HOMES = {
    "ChildLimits": "model", "LoadReport": "model", "Problem": "model", "Returned": "model",
    "Sandbox": "runner", "Session": "session",
}


__getattr__ = lazy_names(__name__, _HOMES, globals())
