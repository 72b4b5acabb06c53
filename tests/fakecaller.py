"""A fake :class:`~gradgrader.checks.caller.Caller` for the tests: the package's
in-process caller (gradgrader/checks/inprocess.py), and helpers to build one from a file.

Only for trusted code — the course's reference, a sample of the course, a function
written in a test. It imports nothing of the sandbox: checks are tested against the
protocol alone, in milliseconds.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from gradgrader.checks import run_check
from gradgrader.checks.context import CheckContext
from gradgrader.checks.inprocess import InProcessCaller as FakeCaller
from gradgrader.checks.inprocess import InProcessProblem as FakeProblem
from gradgrader.checks.inprocess import InProcessReturned as FakeReturned
from gradgrader.checks.prepared import Course
from gradgrader.findings import CheckResult

__all__ = ["FakeCaller", "FakeProblem", "FakeReturned", "caller_for", "load_module", "run_on"]

_COUNTER = itertools.count()


def load_module(path: Path) -> ModuleType:
    """A trusted Python file (a reference, a course sample) as a fresh module."""
    spec = importlib.util.spec_from_file_location(f"_fakecaller_{next(_COUNTER)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def caller_for(course: Course, path: Path | None = None, **overrides: Callable[..., Any]) -> FakeCaller:
    """The functions of the file at ``path`` (default: the course's reference.py), with
    ``overrides`` in place of some of them (a planted mistake)."""
    assignment = course.assignment
    module = load_module(path or assignment.reference_path)
    functions = {name: getattr(module, name) for name in assignment.functions if callable(getattr(module, name, None))}
    return FakeCaller({**functions, **overrides}, assignment)


def run_on(course: Course, check_id: str, caller: FakeCaller) -> CheckResult:
    """Run one check of the course against ``caller``."""
    return run_check(course.assignment.check(check_id), CheckContext(course, caller))
