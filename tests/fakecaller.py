"""A fake :class:`~gradgrader.checks.caller.Caller`: the student's functions run in this
process, and come back as the sandbox returns them (float64 arrays, one per declared
output, a problem for an exception or an unusable value).

Only for trusted code — the course's reference, a sample of the course, a function
written in a test. It imports nothing of the sandbox: checks are tested against the
protocol alone, in milliseconds.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from gradgrader.cases import call_key
from gradgrader.checks import run_check
from gradgrader.checks.context import CheckContext
from gradgrader.checks.prepared import Course
from gradgrader.course import materialise
from gradgrader.findings import CheckResult
from gradgrader.spec import Assignment


@dataclass(frozen=True)
class FakeProblem:
    kind: str
    message: str
    exc_type: str = ""

    def describe(self) -> str:
        return f"raised {self.exc_type}: {self.message}" if self.exc_type else self.message


@dataclass(frozen=True)
class FakeReturned:
    values: tuple[np.ndarray | None, ...]
    types: tuple[str, ...]
    problems: tuple[FakeProblem | None, ...]


@dataclass
class FakeLoad:
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeCaller:
    """Calls ``functions`` directly; memoises each call as the sandbox's Session does,
    and counts ``requests`` (round trips that ran at least one call) and ``calls``."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], assignment: Assignment | None = None) -> None:
        self.functions = dict(functions)
        self.assignment = assignment
        self.path = Path("submission.py")
        # "varargs": the signature check is the loader's business, not the checks'
        self.load = FakeLoad({n: {"defined": True, "callable": True, "varargs": True} for n in self.functions})
        self.requests = 0
        self.calls = 0
        self._memo: dict[str, FakeReturned | FakeProblem] = {}

    def _argument(self, value: Any) -> Any:
        value = np.array(value) if isinstance(value, np.ndarray) else value  # a fresh copy, as the sandbox decodes one
        return materialise(self.assignment, value) if self.assignment is not None else value

    def call_many(
        self, function: str, arg_lists: list[list[Any]], outputs: list[str], timeout: float, want: list[str] | None = None
    ) -> list[FakeReturned | FakeProblem]:
        suffix = "" if not want or set(want) >= set(outputs) else "|" + ",".join(sorted(want))
        keys = [call_key(function, args) + suffix for args in arg_lists]
        todo = {k: args for k, args in zip(keys, arg_lists) if k not in self._memo}
        if todo:
            self.requests += 1
            self.calls += len(todo)
            for k, args in todo.items():
                self._memo[k] = self._call(function, args, outputs, want if suffix else None)
        return [self._memo[k] for k in keys]

    def descend(
        self, function: str, args: list[Any], outputs: list[str], timeout: float, *,
        variable: int, gradient: str, rate: float, steps: int, shapes: list[tuple[int, ...]],
    ) -> list[FakeReturned | FakeProblem]:
        """As the sandbox's child runs it: one request, calls until a step's outcome
        stops the descent."""
        self.requests += 1
        made: list[FakeReturned | FakeProblem] = []
        x = args[variable]
        g = outputs.index(gradient)
        for _ in range(steps):
            got = self._call(function, [*args[:variable], x, *args[variable + 1:]], outputs, None)
            self.calls += 1
            made.append(got)
            if isinstance(got, FakeProblem) or any(
                p is not None or v is None or v.shape != tuple(s) or not np.all(np.isfinite(v))
                for v, p, s in zip(got.values, got.problems, shapes)
            ):
                break
            x = x - rate * got.values[g]
        return made

    def _call(self, function: str, args: list[Any], outputs: list[str], want: list[str] | None) -> FakeReturned | FakeProblem:
        try:
            result = self.functions[function](*[self._argument(a) for a in args])
        except NotImplementedError as exc:  # the starter's placeholder, as the sandbox names it
            return FakeProblem("not-implemented", str(exc), "NotImplementedError")
        except Exception as exc:  # noqa: BLE001 - the student's exception is the answer
            return FakeProblem("exception", str(exc), type(exc).__name__)
        if len(outputs) == 1:
            values = [result]
        elif isinstance(result, tuple) and getattr(type(result), "_fields", None):
            values = [getattr(result, n) for n in outputs]
        elif isinstance(result, (tuple, list)) and len(result) == len(outputs):
            values = list(result)
        else:
            return FakeProblem("wrong-output", f"returned {type(result).__name__}, expected {len(outputs)} values")
        arrays: list[np.ndarray | None] = []
        problems: list[FakeProblem | None] = []
        for name, v in zip(outputs, values):
            try:
                arrays.append(None if want and name not in want else np.asarray(v, dtype=np.float64))
                problems.append(None)
            except (TypeError, ValueError) as exc:
                arrays.append(None)
                problems.append(FakeProblem("wrong-type", f"{name} is not an array of numbers ({exc})"))
        return FakeReturned(tuple(arrays), tuple(type(v).__name__ for v in values), tuple(problems))


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
