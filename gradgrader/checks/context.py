"""The context of one submission's checks: inputs, reference, and the student's calls.

A check is a pure function ``(CheckSpec, CheckContext) -> CheckResult``: it asks the
context for inputs, the student's outputs and the reference's outputs (plain float
arrays) and compares them. It never opens files, prints or reads the clock. The
student's functions are reached through a :class:`~gradgrader.checks.caller.Caller`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from gradgrader.checks.caller import Caller, CallProblem, CallReturned, is_problem
from gradgrader.checks.prepared import Course
from gradgrader.findings import MATCH_RTOL, Failure, rel_error, shape_text
from gradgrader.hints import hint_for
from gradgrader.spec import Assignment, FunctionSpec

# An answer "depends" on an argument when a fresh draw of it moves the reference's
# output by more than DEPENDS (relative): fresh standard-normal draws move every graded
# output by O(1), so 1e-3 leaves out only arguments that really do not matter (K = 1).
# It "ignores" the argument when its own output moves by at most IGNORES: a real answer
# moves about as much as the reference (≥ 1e-3); 1e-9 is six orders below that and
# seven above float64 rounding, so float32 code or another summation order is never
# taken for a constant.
DEPENDS = 1e-3
IGNORES = 1e-9


_PROBLEM_MISTAKE = {
    "not-implemented": "not-implemented",
    "exception": "crashed",
    "crashed": "crashed",
    "timeout": "timeout",
    "memory-limit": "memory-limit",
    "wrong-output": "wrong-shape",
    "wrong-type": "wrong-shape",
    "too-large": "wrong-shape",
}


def describe_problem(fn: FunctionSpec, problem: CallProblem) -> Failure:
    mistake = _PROBLEM_MISTAKE.get(problem.kind, "crashed")
    if problem.kind == "not-implemented" and problem.exc_type == "NotImplementedError":
        return Failure((mistake,), f"{fn.name} is not implemented yet (it raises NotImplementedError)")
    if mistake == "memory-limit":
        return Failure((mistake,), f"{fn.name} ran out of memory: {problem.describe()}")
    hint = hint_for(problem.exc_type, problem.message) if problem.exc_type else ""
    text = problem.describe()
    if problem.kind == "crashed" and not problem.exc_type:
        text = f"crashed: {text}"
    elif problem.kind in {"wrong-output", "wrong-type", "too-large"}:
        text = f"returned something unusable: {text}"
    return Failure((mistake,), f"{fn.name} {text}" + (f" — {hint}" if hint else ""))


@dataclass
class CheckContext:
    """Everything a check may use for one submission."""

    course: Course
    session: Caller  # the student's functions (a sandbox Session, or a fake in tests)
    notes: dict[str, Any] = field(default_factory=dict)  # per-submission scratch
    reference_file: str | None = None  # the reference of the submission's convention
    # a function graded in another convention than the submission's (see Conventions)
    reference_files: dict[str, str] = field(default_factory=dict)
    _problems: dict[str, tuple[Any, Failure | None]] = field(default_factory=dict, init=False, repr=False)

    @property
    def assignment(self) -> Assignment:
        return self.course.assignment

    def inputs(self, function: str, case: str) -> dict[str, Any]:
        return self.course.inputs(function, case)

    def rng(self, *keys: str) -> np.random.Generator:
        """A generator seeded by the assignment and ``keys`` only (deterministic, hidden)."""
        return np.random.default_rng([self.assignment.seed, *(zlib.crc32(k.encode()) for k in keys)])

    def reference(self, function: str, args: Mapping[str, Any], cache: bool = True) -> dict[str, np.ndarray]:
        return self.course.call_reference(function, args, self.reference_files.get(function, self.reference_file), cache)

    def function_problem(self, function: str) -> Failure | None:
        """A Failure if ``function`` is missing or cannot take the assignment's arguments
        (asked before each of a submission's ~100 calls: worked out once per load
        report, #17)."""
        load = self.session.load
        known = self._problems.get(function)
        if known is not None and known[0] is load:
            return known[1]
        problem = self._function_problem(function)
        self._problems[function] = (load, problem)
        return problem

    def _function_problem(self, function: str) -> Failure | None:
        fn = self.assignment.functions[function]
        info = self.session.load.functions.get(function)
        filename = getattr(self.session.path, "name", "") or self.assignment.filename  # the file as the student named it
        if not isinstance(info, dict) or not info.get("defined"):
            return Failure(("not-implemented",), f"{fn.name} is not defined in {filename}: write {fn.signature}")
        if not info.get("callable"):
            return Failure(("not-implemented",), f"{fn.name} in {filename} is not a function")
        if not info.get("varargs"):
            req, pos = info.get("required", 0), info.get("positional", 0)
            n = len(fn.args)
            if not (isinstance(req, int) and isinstance(pos, int) and req <= n <= pos):
                takes = f"{req}" if req == pos else f"{req} to {pos}"
                return Failure(
                    ("wrong-signature",),
                    f"{fn.name} takes {takes} argument(s), but the assignment calls it with {n}: {fn.signature}",
                )
        return None

    def ignored_arguments(self, function: str, case: str, outputs: list[str]) -> list[str]:
        """The array arguments of ``function`` that its ``outputs`` ignore on ``case``:
        a fresh draw of the argument (:meth:`Course.redrawn_inputs`) moves the
        reference's output by more than DEPENDS but the student's by at most IGNORES.

        An output that ignores an argument its definition depends on is no answer to
        the question (a placeholder, a constant such as 1/K everywhere, a "loss" of W
        alone), whatever properties it happens to have. Scalars (reg) are not tested:
        a real answer may drop a hyperparameter's term, which the value checks name.
        A call that fails on the fresh draw is no evidence and is skipped."""
        plan = self._fresh_draws(function, case, outputs)
        if plan is None:
            return []
        args, base, names, variants = plan
        dims = self.course.dims(case)
        ref = self.reference(function, args)
        ignored = []
        for a, variant, got in zip(names, variants, self.student_many(function, variants, dims, need=outputs)):
            if isinstance(got, Failure):
                continue
            moved = self.reference(function, variant)
            if any(rel_error(moved[o], ref[o]) > DEPENDS and rel_error(got[o], base[o]) <= IGNORES for o in outputs):
                ignored.append(a)
        return ignored

    def _fresh_draws(
        self, function: str, case: str, outputs: list[str]
    ) -> tuple[dict[str, Any], dict[str, np.ndarray], list[str], list[Mapping[str, Any]]] | None:
        """For :meth:`ignored_arguments`: the case's arguments, the student's answer on
        them, and the array arguments drawn afresh one at a time (None: nothing to test)."""
        args = self.inputs(function, case)
        fresh = self.course.redrawn_inputs(function, case)
        if fresh is None:
            return None
        fn = self.assignment.functions[function]
        names = [
            a for a in fn.args
            if isinstance(args[a], np.ndarray) and args[a].ndim >= 1 and args[a].size
            and isinstance(fresh.get(a), np.ndarray) and fresh[a].shape == args[a].shape and not np.array_equal(fresh[a], args[a])
        ]
        if not names:
            return None
        base = self.student(function, args, self.course.dims(case), need=outputs)
        if isinstance(base, Failure):
            return None
        return args, base, names, [{**args, a: fresh[a]} for a in names]

    def prefetch(self, function: str, groups: list[list[Mapping[str, Any]]], need: list[str] | None = None) -> None:
        """Make in one round trip the calls a check is about to make group by group
        (one :meth:`student_many` per case): each group's call is then answered from the
        caller's memo (#17). Only calls the check makes anyway, asked exactly as it will
        ask them (the same outputs wanted): only their order changes (every case's,
        before the next step of the first), which decides nothing for a function of its
        arguments; a hang stops the batch as it would stop the case, and is not run again."""
        if self.function_problem(function) is not None:
            return
        fn = self.assignment.functions[function]
        by_want: dict[tuple[str, ...] | None, list[list[Any]]] = {}
        for group in groups:
            want = tuple(need) if need is not None and len(group) > 1 else None  # as student_many asks
            by_want.setdefault(want, []).extend([args[a] for a in fn.args] for args in group)
        for want, arg_lists in by_want.items():
            if len(arg_lists) > 1:
                self.session.call_many(
                    function, arg_lists, [o.name for o in fn.outputs], self.course.call_limit(function),
                    want=list(want) if want is not None else None,
                )

    def prefetch_fresh_draws(self, function: str, cases: list[str], outputs: list[str]) -> None:
        """:meth:`prefetch` the calls :meth:`ignored_arguments` will make on ``cases``."""
        plans = [self._fresh_draws(function, case, outputs) for case in cases]
        self.prefetch(function, [plan[3] for plan in plans if plan is not None], outputs)

    def note_shape(self, function: str, text: str) -> None:
        """Remember a shape that was accepted leniently; the check that asked says so."""
        notes = self.notes.setdefault("shape_notes", {})
        notes.setdefault(function, {})[text] = None

    def shape_notes(self, function: str) -> list[str]:
        return list(self.notes.get("shape_notes", {}).get(function, {}))

    def student(
        self, function: str, args: Mapping[str, Any], dims: Mapping[str, int], need: list[str] | None = None
    ) -> dict[str, np.ndarray] | Failure:
        """The student's outputs for ``args``, by name; those in ``need`` (default: all)
        must have their exact shape, the others are passed through as they are."""
        return self.student_many(function, [args], dims, need)[0]

    def student_many(
        self, function: str, arg_sets: list[Mapping[str, Any]], dims: Mapping[str, int], need: list[str] | None = None
    ) -> list[dict[str, np.ndarray] | Failure]:
        """:meth:`student` for several argument sets, in one round trip to the sandbox."""
        fn = self.assignment.functions[function]
        problem = self.function_problem(function)
        if problem is not None:
            return [problem] * len(arg_sets)
        # No copies needed: arguments are serialised, and the student's process decodes
        # a fresh copy for every call (a submission that mutates them harms nobody).
        got = self.session.call_many(
            function,
            [[args[a] for a in fn.args] for args in arg_sets],
            [o.name for o in fn.outputs],
            self.course.call_limit(function),
            want=need if need is not None and len(arg_sets) > 1 else None,
        )
        return [self._validate(fn, g, args, dims, need) for g, args in zip(got, arg_sets)]

    def student_descent(
        self, function: str, args: Mapping[str, Any], dims: Mapping[str, int], *,
        variable: str, gradient: str, rate: float, steps: int,
    ) -> Callable[[Mapping[str, Any]], dict[str, np.ndarray] | Failure]:
        """A training loop's :meth:`student`, with its calls made in one round trip
        (#17): the student's process runs up to ``steps`` steps of gradient descent on
        ``variable`` from ``args`` (``x ← x - rate × gradient``, :meth:`Caller.descend`)
        before the loop starts. The returned function answers the loop's i-th call from
        the i-th of those outcomes — checked as :meth:`student` checks one call, against
        the arguments the loop passes, which it computed itself — as long as the loop
        asks exactly the iterate the child computed; once it asks anything else, or the
        answers run out (the child stopped early: a failure, a value that is not
        finite), it calls the student's function as :meth:`student` does."""
        fn = self.assignment.functions[function]
        made: list[CallReturned | CallProblem] = []
        if self.function_problem(function) is None:
            made = list(self.session.descend(
                function, [args[a] for a in fn.args], [o.name for o in fn.outputs], self.course.call_limit(function),
                variable=fn.args.index(variable), gradient=gradient, rate=rate, steps=steps,
                shapes=[o.resolve(dims) for o in fn.outputs],
            ))
        made.reverse()
        expected = [args[variable]]  # the iterate the next stored answer was computed at

        def same_call(step_args: Mapping[str, Any]) -> bool:
            """Whether the loop asks exactly what the child computed (another update rule,
            clipping, a changed argument: the stored answers are not for this call)."""
            others = all(step_args[a] is args[a] or _equal(step_args[a], args[a]) for a in fn.args if a != variable)
            return others and _equal(step_args[variable], expected[0])

        def step(step_args: Mapping[str, Any]) -> dict[str, np.ndarray] | Failure:
            if made and not same_call(step_args):
                made.clear()
            if not made:
                return self.student(function, step_args, dims)
            out = self._validate(fn, made.pop(), step_args, dims, None)
            if isinstance(out, Failure) or gradient not in out:
                made.clear()
            else:
                expected[0] = np.asarray(step_args[variable], dtype=np.float64) - rate * out[gradient]
            return out

        return step

    def _validate(
        self, fn: FunctionSpec, got: CallReturned | CallProblem, args: Mapping[str, Any], dims: Mapping[str, int], need: list[str] | None
    ) -> dict[str, np.ndarray] | Failure:
        if is_problem(got):
            return describe_problem(fn, cast(CallProblem, got))
        got = cast(CallReturned, got)
        out: dict[str, np.ndarray] = {}
        for spec, value, kind, problem_ in zip(fn.outputs, got.values, got.types, got.problems):
            if value is None and problem_ is None and need is not None and spec.name not in need:
                continue  # not sent back: the caller did not ask for it
            if problem_ is not None or value is None:
                msg = problem_.message if problem_ else "no value"
                return Failure(("wrong-shape",), f"{fn.name}'s return value is unusable: {msg}")
            expected = spec.resolve(dims)
            if value.shape != expected and _isclose_compatible(value.shape, expected):
                # As the course's own np.isclose checks would: a size-1 array for a number
                # (a log-likelihood of shape (1,)), a number for a (1,) array (K = 1).
                self.note_shape(
                    fn.name,
                    f"{fn.name} returned {spec.name + ' ' if len(fn.outputs) > 1 else ''}as "
                    + ("a single number" if value.shape == () else f"an array of {shape_text(value.shape)}")
                    + f" where {'a number' if expected == () else shape_text(expected)} is expected; accepted as the same value "
                    f"(np.isclose compares them alike), but return exactly {'a number' if expected == () else shape_text(expected)}",
                )
                value = value.reshape(expected)
            if value.shape != expected and (need is None or spec.name in need):
                what = f"{spec.name} " if len(fn.outputs) > 1 else ""
                mistake = "wrong-shape"
                if value.ndim == 2 and value.shape[::-1] == expected:
                    # Name a transposed layout only when the numbers really are the transpose.
                    ref = self.reference(fn.name, args)[spec.name]
                    if np.all(np.isfinite(value)) and rel_error(value.T, ref) <= MATCH_RTOL:
                        mistake = "transposed"
                return Failure(
                    (mistake,),
                    f"{fn.name} returned {what}"
                    + (f"a single number ({kind})" if value.shape == () else f"a {kind} of {shape_text(value.shape)}")
                    + f"; expected {shape_text(expected)}",
                    output=spec.name,
                    value=value,
                )
            out[spec.name] = value
        return out


def _equal(a: Any, b: Any) -> bool:
    """Exactly the same argument (arrays: same shape and values)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b))
    return type(a) is type(b) and a == b


def _isclose_compatible(got: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """A size-1 array where a number is expected, or a number where a (1,) array is:
    the only shape differences the course's np.isclose checks let through unnoticed."""
    return (expected == () and len(got) > 0 and all(n == 1 for n in got)) or (expected == (1,) and got == ())
