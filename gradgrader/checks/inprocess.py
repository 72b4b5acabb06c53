"""A :class:`~gradgrader.checks.caller.Caller` that runs trusted functions in this
process — the course's reference — and gives back what the sandbox would (float64
arrays, one per declared output; a problem for an exception or an unusable value).

Never for a student's code: it runs in the grader's own process. The grader uses it to
run the checks on the reference while a student's sandbox is still starting, so that
the course's first-time work (finite-difference points, the reference's training run,
diagnosis terms) is done meanwhile (:func:`gradgrader.grading.warm_course`, #17); the
tests use it to test every check kind without starting a process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradgrader.cases import call_key
from gradgrader.course import materialise
from gradgrader.spec import Assignment


@dataclass(frozen=True)
class InProcessProblem:
    kind: str
    message: str
    exc_type: str = ""

    def describe(self) -> str:
        return f"raised {self.exc_type}: {self.message}" if self.exc_type else self.message


@dataclass(frozen=True)
class InProcessReturned:
    values: tuple[np.ndarray | None, ...]
    types: tuple[str, ...]
    problems: tuple[InProcessProblem | None, ...]


@dataclass
class InProcessLoad:
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)


class InProcessCaller:
    """Calls ``functions`` directly; memoises each call as the sandbox's Session does,
    and counts ``requests`` (round trips that ran at least one call) and ``calls``.
    Trusted functions only: this runs them in the grader's own process."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], assignment: Assignment | None = None) -> None:
        self.functions = dict(functions)
        self.assignment = assignment
        self.path = Path("submission.py")
        # "varargs": the signature check is the loader's business, not the checks'
        self.load = InProcessLoad({n: {"defined": True, "callable": True, "varargs": True} for n in self.functions})
        self.requests = 0
        self.calls = 0
        self._memo: dict[str, InProcessReturned | InProcessProblem] = {}

    def _argument(self, value: Any) -> Any:
        value = np.array(value) if isinstance(value, np.ndarray) else value  # a fresh copy, as the sandbox decodes one
        return materialise(self.assignment, value) if self.assignment is not None else value

    def call_many(
        self, function: str, arg_lists: list[list[Any]], outputs: list[str], timeout: float, want: list[str] | None = None
    ) -> list[InProcessReturned | InProcessProblem]:
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
    ) -> list[InProcessReturned | InProcessProblem]:
        """As the sandbox's child runs it: one request, calls until a step's outcome
        stops the descent."""
        self.requests += 1
        made: list[InProcessReturned | InProcessProblem] = []
        x = args[variable]
        g = outputs.index(gradient)
        for _ in range(steps):
            got = self._call(function, [*args[:variable], x, *args[variable + 1:]], outputs, None)
            self.calls += 1
            made.append(got)
            if isinstance(got, InProcessProblem) or any(
                p is not None or v is None or v.shape != tuple(s) or not np.all(np.isfinite(v))
                for v, p, s in zip(got.values, got.problems, shapes)
            ):
                break
            step = got.values[g]
            assert step is not None  # every output was checked just above
            x = x - rate * step
        return made

    def _call(self, function: str, args: list[Any], outputs: list[str], want: list[str] | None) -> InProcessReturned | InProcessProblem:
        try:
            result = self.functions[function](*[self._argument(a) for a in args])
        except NotImplementedError as exc:  # the starter's placeholder, as the sandbox names it
            return InProcessProblem("not-implemented", str(exc), "NotImplementedError")
        except Exception as exc:  # noqa: BLE001 - the student's exception is the answer
            return InProcessProblem("exception", str(exc), type(exc).__name__)
        if len(outputs) == 1:
            values = [result]
        elif isinstance(result, tuple) and getattr(type(result), "_fields", None):
            values = [getattr(result, n) for n in outputs]
        elif isinstance(result, (tuple, list)) and len(result) == len(outputs):
            values = list(result)
        else:
            return InProcessProblem("wrong-output", f"returned {type(result).__name__}, expected {len(outputs)} values")
        arrays: list[np.ndarray | None] = []
        problems: list[InProcessProblem | None] = []
        for name, v in zip(outputs, values):
            try:
                arrays.append(None if want and name not in want else np.asarray(v, dtype=np.float64))
                problems.append(None)
            except (TypeError, ValueError) as exc:
                arrays.append(None)
                problems.append(InProcessProblem("wrong-type", f"{name} is not an array of numbers ({exc})"))
        return InProcessReturned(tuple(arrays), tuple(type(v).__name__ for v in values), tuple(problems))
