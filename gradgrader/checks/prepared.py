"""The course's side of grading: generated inputs, the reference's outputs, hooks.

:class:`Course` prepares an assignment for grading once and shares it with every
submission (and every worker thread): inputs are drawn once, the reference is called
once per input, a course hook once per argument set. In a student pack (no reference,
no hooks) the same values are replayed from the pack's recording.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from gradgrader.cases import call_key, case_inputs, copy_value, freeze
from gradgrader.course import hook, load_course_file, materialise, reference_module
from gradgrader.errors import ConfigError
from gradgrader.spec import Assignment, Composite, FunctionSpec, is_pack, load_table

# Offset of the seed that draws a case's inputs again (see Course.redrawn_inputs).
REDRAW_SEED = 7919
# The per-call time limit (issue 17): max(CALL_FLOOR_S, CALL_FACTOR × the reference's time),
# capped by the function's own ``timeout``, so that a hang costs seconds, not the full limit.
# The reference's time is its CPU time in the grader's own thread (time.thread_time), the
# largest over the function's check cases, measured once per process: CPU time does not grow
# when the machine is busy, so the limit hardly moves with load. The floor decides for every
# shipped function (their references take < 1 ms: 100× is < 0.1 s). 3 s is ~30× what a
# correct pure-Python-loops softmax_loss takes on the training hook's 240 digits (0.1 s on a
# busy 2-core machine) and leaves room for a first call that imports scipy on a loaded
# machine; the factor 100 covers a correct but unvectorised solution of a heavy reference
# (loops are 10–100× slower than numpy's kernels) with the same load margin left over.
CALL_FLOOR_S = 3.0
CALL_FACTOR = 100.0


def _frozen(value: Any) -> Any:
    """``value`` (arrays, numbers, tuples and lists of them) with every array frozen."""
    if isinstance(value, (tuple, list)):
        return type(value)(_frozen(v) for v in value)
    return freeze(value)


def _own(value: Any) -> Any:
    """``value`` (arrays, numbers, tuples and lists of them) with every array owning its
    memory in the same layout: an array read back from elsewhere (a buffer) kept
    C- or Fortran-ordered as it was computed — a norm sums its entries in memory order,
    and another order changes its last bit."""
    if isinstance(value, (tuple, list)):
        return type(value)(_own(v) for v in value)
    if isinstance(value, Composite):
        return Composite(value.factory, {k: _own(v) for k, v in value.fields.items()})
    if isinstance(value, np.ndarray) and not value.flags.owndata:
        return np.array(value, order="K")
    return value


class Course:
    """An assignment prepared for grading: its generated inputs and the reference's
    outputs, computed once and shared by every submission (and every worker thread).

    In a student pack (no reference, no hooks) the same values are replayed from the
    pack's recording; ``recording`` (a dict) collects them when a pack is made."""

    def __init__(self, assignment: Assignment) -> None:
        self.assignment = assignment
        self.replay: dict[str, Any] | None = load_table(assignment.root) if is_pack(assignment.root) else None
        self.reference = None if self.replay is not None else reference_module(assignment)
        self._modules: dict[str, Any] = {}
        self.recording: dict[str, Any] | None = None
        self._inputs: dict[tuple[str, ...], dict[str, Any]] = {}
        self._ref: dict[str, dict[str, np.ndarray]] = {}
        self._hooks: dict[str, np.ndarray] = {}
        self._limits: dict[str, float] = {}
        self._derived: dict[tuple[str, ...], Any] = {}

    def _replayed(self, key: str, what: str) -> Any:
        assert self.replay is not None
        if key not in self.replay:
            raise ConfigError(
                f"{what} is not recorded in this student pack (it needs the course's reference); "
                "the course grades it with the full assignment"
            )
        return self.replay[key]

    def inputs(self, function: str, case: str) -> dict[str, Any]:
        """The arguments of ``function`` on ``case``: a new dict of read-only arrays
        shared by every check (copy an array before changing it)."""
        key = (function, case)
        if key not in self._inputs:
            rkey = f"inputs:{function}:{case}"
            if self.replay is not None:
                values = self._replayed(rkey, f"the inputs of {function} on case {case!r}")
            else:
                values = case_inputs(self.assignment, function, case)
            self._inputs[key] = {k: freeze(v) for k, v in values.items()}
            if self.recording is not None:
                self.recording[rkey] = self._inputs[key]
        return dict(self._inputs[key])

    def redrawn_inputs(self, function: str, case: str) -> dict[str, Any] | None:
        """The arguments of ``function`` on ``case`` drawn again with another seed: the
        same shapes and constraints (labels in range, SPD covariances, rows on the
        simplex), other numbers. ``None`` in a student pack that did not record them."""
        key = (function, case, "redrawn")
        if key not in self._inputs:
            rkey = f"inputs:{function}:{case}:redrawn"
            if self.replay is not None:
                if rkey not in self.replay:
                    return None
                values = self.replay[rkey]
            else:
                values = case_inputs(dataclasses.replace(self.assignment, seed=self.assignment.seed + REDRAW_SEED), function, case)
            self._inputs[key] = {k: freeze(v) for k, v in values.items()}
            if self.recording is not None:
                self.recording[rkey] = self._inputs[key]
        return dict(self._inputs[key])

    def derived(self, key: tuple[str, ...], make: Callable[[], Any]) -> Any:
        """A value computed from the course's inputs alone (the same for every
        submission), made once per process and shared, its arrays read-only: a
        check's finite-difference points, say. Being the very same frozen arrays in
        every submission, they are hashed and encoded once (#17). ``key`` names what
        ``make`` computes; the result must depend on nothing else."""
        if key not in self._derived:
            self._derived[key] = _frozen(make())
        return self._derived[key]

    def dims(self, case: str) -> Mapping[str, int]:
        return self.assignment.cases[case].dims

    def call_limit(self, function: str) -> float:
        """Wall seconds one call of the student's ``function`` may take: see CALL_FLOOR_S.
        A student pack has no reference to time: the function's own ``timeout``."""
        fn = self.assignment.functions[function]
        if self.replay is not None or self.reference is None:
            return fn.timeout
        if function not in self._limits:
            cases = sorted({c for check in self.assignment.checks if check.function == function for c in check.cases})
            worst = 0.0
            for case in cases:
                ordered = [self.inputs(function, case)[a] for a in fn.args]
                start = time.thread_time()
                try:
                    out = self._compute_reference(fn, ordered, self.reference)
                except Exception:  # noqa: BLE001 - a case the reference refuses is timed by the others
                    continue
                worst = max(worst, time.thread_time() - start)
                # Kept as call_reference would keep it: the checks ask for these very calls.
                for arr in out.values():
                    arr.flags.writeable = False
                self._ref.setdefault(call_key(function, ordered), out)
            self._limits[function] = min(fn.timeout, max(CALL_FLOOR_S, CALL_FACTOR * worst))
        return self._limits[function]

    def prepare(self, cases: Mapping[str, Iterable[str]]) -> None:
        """Draw the inputs of ``cases`` (function → its check cases) and time the
        reference on each function's cases (:meth:`call_limit`, which keeps the outputs):
        what asking a student's process for those cases needs first. Done before that
        process is started, so that a single ``check`` does it while its sandbox is
        still coming up (#17); once per process, as each of them is."""
        for function, names in cases.items():
            for case in names:
                if (function, case) not in self._inputs:
                    self.inputs(function, case)
            self.call_limit(function)

    def computed(self) -> dict[str, dict[Any, Any]]:
        """What this course has computed of itself so far — inputs, the reference's
        outputs, hook values, time limits, derived values — by kind: each depends on the
        course alone, never on a student (a student's ``check`` remembers it for the next,
        :mod:`gradgrader.checks.remembered`). The course's own dicts: do not change them."""
        return {"inputs": self._inputs, "ref": self._ref, "hooks": self._hooks, "limits": self._limits, "derived": self._derived}

    def recall(self, computed: Mapping[str, Mapping[Any, Any]]) -> None:
        """Start from values :meth:`computed` gave for this very course (in another
        process): each made read-only as if computed here; what is missing is computed
        when asked for, as always."""
        for key, values in computed.get("inputs", {}).items():
            self._inputs.setdefault(key, {k: freeze(_own(v)) for k, v in values.items()})
        for key, outputs in computed.get("ref", {}).items():
            self._ref.setdefault(key, {k: _frozen(_own(v)) for k, v in outputs.items()})
        for key, value in computed.get("hooks", {}).items():
            self._hooks.setdefault(key, _frozen(_own(value)))
        for key, limit in computed.get("limits", {}).items():
            self._limits.setdefault(key, float(limit))
        for key, value in computed.get("derived", {}).items():
            self._derived.setdefault(key, _frozen(_own(value)))

    def reference_for(self, file: str | None) -> Any:
        """The reference module of a convention (``None``: reference.py)."""
        if file is None or file == "reference.py":
            return self.reference
        if file not in self._modules:
            self._modules[file] = load_course_file(self.assignment, file)
        return self._modules[file]

    def call_reference(
        self, function: str, args: Mapping[str, Any], file: str | None = None, cache: bool = True
    ) -> dict[str, np.ndarray]:
        """The reference's outputs for ``args``, by output name, as float64 arrays
        (``file``: the reference of the submission's convention, if it has several).

        ``cache=False`` for arguments that depend on a student's answers (a training
        loop's weights): the shared cache would otherwise grow with the class."""
        fn = self.assignment.functions[function]
        ordered = [args[a] for a in fn.args]
        key = call_key(function if file in (None, "reference.py") else f"{file}:{function}", ordered)
        if key not in self._ref:
            if self.replay is not None:
                out = {n: np.asarray(v, dtype=np.float64) for n, v in self._replayed(f"ref:{key}", f"the reference's {function}").items()}
            else:
                out = self._compute_reference(fn, ordered, self.reference_for(file))
            for arr in out.values():
                arr.flags.writeable = False
            if not cache:
                return out
            self._ref[key] = out
        if self.recording is not None:
            self.recording[f"ref:{key}"] = self._ref[key]
        return self._ref[key]

    def _compute_reference(self, fn: FunctionSpec, ordered: list[Any], module: Any) -> dict[str, np.ndarray]:
        result = getattr(module, fn.name)(*[materialise(self.assignment, copy_value(a)) for a in ordered])
        names = [o.name for o in fn.outputs]
        if len(names) == 1:
            values = [result]
        elif isinstance(result, tuple) and getattr(type(result), "_fields", None):
            values = [getattr(result, n) for n in names]
        elif isinstance(result, (tuple, list)):
            values = list(result)
        else:
            values = [getattr(result, n) for n in names]
        return {n: np.array(v, dtype=np.float64) for n, v in zip(names, values)}

    def call_hook(self, name: str, args: Mapping[str, Any], where: str) -> np.ndarray:
        """A course hook (a diagnosis term, a wrong variant, an objective) on ``args``,
        as a float64 array; memoised, recorded for packs, replayed in a pack."""
        names = sorted(args)
        key = "hook:" + call_key(name + "(" + ",".join(names) + ")", [args[n] for n in names])
        if key not in self._hooks:
            if self.replay is not None:
                value = np.asarray(self._replayed(key, f"the course's {name}"), dtype=np.float64)
            else:
                fn = hook(self.assignment, name, where)
                value = np.asarray(fn(**{k: materialise(self.assignment, copy_value(v)) for k, v in args.items()}), dtype=np.float64)
            value.flags.writeable = False
            self._hooks[key] = value
        if self.recording is not None:
            self.recording[key] = self._hooks[key]
        return self._hooks[key]
