"""What checks need from the student's running code: the :class:`Caller` protocol.

Checks never import the sandbox. They call the student's functions through a
``Caller`` — the sandbox's ``Session`` satisfies it structurally — and read what came
back through the two small protocols below. Tests pass a fake caller that runs the
course's reference in-process (tests/fakecaller.py), so every check kind is tested
without starting a process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class CallProblem(Protocol):
    """Why a call (or loading the file) gave no usable value."""

    @property
    def kind(self) -> str: ...  # not-implemented, exception, timeout, crashed, memory-limit, wrong-output, ...

    @property
    def message(self) -> str: ...

    @property
    def exc_type(self) -> str: ...

    def describe(self) -> str: ...


class CallReturned(Protocol):
    """What one call returned: per output an array (float64) or a problem; type names."""

    @property
    def values(self) -> tuple[np.ndarray | None, ...]: ...

    @property
    def types(self) -> tuple[str, ...]: ...

    @property
    def problems(self) -> tuple[CallProblem | None, ...]: ...


class LoadInfo(Protocol):
    """What loading the student's file told about its functions: for each name a dict
    with ``defined``, ``callable``, ``varargs``, ``required`` and ``positional``."""

    @property
    def functions(self) -> Mapping[str, Any]: ...


class Caller(Protocol):
    """The student's functions, callable by name (a sandbox ``Session``, or a fake)."""

    @property
    def path(self) -> Path: ...  # the graded file, as the student named it

    @property
    def load(self) -> LoadInfo: ...

    def call_many(
        self, function: str, arg_lists: list[list[Any]], outputs: list[str], timeout: float, want: list[str] | None = None
    ) -> Sequence[CallReturned | CallProblem]:
        """``function(*args)`` for each of ``arg_lists``, in one round trip; ``timeout``
        per call; ``want``: the outputs to send back (None: all)."""
        ...

    def descend(
        self, function: str, args: list[Any], outputs: list[str], timeout: float, *,
        variable: int, gradient: str, rate: float, steps: int, shapes: list[tuple[int, ...]],
    ) -> Sequence[CallReturned | CallProblem]:
        """Gradient descent on argument ``variable`` driven in the student's process, in
        one round trip (#17): ``steps`` calls of ``function``, the first with ``args``,
        each next one with ``x - rate * g``, where ``x`` is the previous call's
        ``variable`` and ``g`` its output ``gradient`` (as float64, as returned). The
        outcomes of the calls made, in order; it stops early after a call that gave a
        problem, a value that is not finite, or an output not of its shape in ``shapes``
        (one per output; the gradient's must be ``x``'s). ``timeout`` per call.

        Nothing here is trusted more than one call per step: the caller recomputes
        every iterate from the returned gradients itself, so whatever the child does
        between calls, the outcomes are what a (stateful) function could have returned
        to step-by-step calls."""
        ...


# Whether a type satisfies CallProblem, by type: a runtime protocol check walks the
# protocol's attributes on every call (~40 µs on Python 3.11), and the checks ask it for
# every one of a submission's ~150 calls (#17).
_PROBLEM_TYPES: dict[type, bool] = {}


def is_problem(got: CallReturned | CallProblem) -> bool:
    """Whether a call's outcome is a problem (no values) rather than returned values."""
    kind = type(got)
    known = _PROBLEM_TYPES.get(kind)
    if known is None:
        known = _PROBLEM_TYPES[kind] = isinstance(got, CallProblem)
    return known
