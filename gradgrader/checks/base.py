"""What every check works with: the context of one submission and the result types.

A check is a pure function ``(CheckSpec, CheckContext) -> CheckResult``: it asks the
context for inputs, the student's outputs and the reference's outputs (plain float
arrays) and compares them. It never opens files, prints or reads the clock.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradgrader.cases import case_inputs, copy_value, freeze
from gradgrader.course import hook, materialise, reference_module
from gradgrader.errors import ConfigError
from gradgrader.sandbox import Problem, Returned, Session
from gradgrader.sandbox.session import call_key
from gradgrader.spec import Assignment, CheckSpec, FunctionSpec

# Relative errors are measured against max(‖r‖, ‖s‖, FLOOR): below 1e-10 in norm an
# output is zero for every function graded here (their values are O(1)), so two
# near-zero answers agree instead of dividing noise by noise.
FLOOR = 1e-10


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

# An answer "depends" on an argument when a fresh draw of it moves the reference's
# output by more than DEPENDS (relative): fresh standard-normal draws move every graded
# output by O(1), so 1e-3 leaves out only arguments that really do not matter (K = 1).
# It "ignores" the argument when its own output moves by at most IGNORES: a real answer
# moves about as much as the reference (≥ 1e-3); 1e-9 is six orders below that and
# seven above float64 rounding, so float32 code or another summation order is never
# taken for a constant.
DEPENDS = 1e-3
IGNORES = 1e-9


def rel_error(student: np.ndarray, reference: np.ndarray, floor: float = FLOOR) -> float:
    """‖s − r‖_F / max(‖r‖_F, ‖s‖_F, floor): symmetric, scale-free, and not a per-entry
    maximum (which would flag correct float32 code on entries close to zero)."""
    diff = float(np.linalg.norm(student - reference))
    den = max(float(np.linalg.norm(reference)), float(np.linalg.norm(student)), floor)
    return diff / den


@dataclass(frozen=True)
class Finding:
    """A diagnosis: the named mistake (if one is recognised) and where the error is."""

    mistake: str | None
    summary: str
    where: str = ""
    error_map: tuple[tuple[float, ...], ...] | None = None
    error_axes: str = ""  # what the map's rows and columns are, e.g. "class × feature"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mistake": self.mistake, "summary": self.summary}
        if self.where:
            out["where"] = self.where
        if self.error_map is not None:
            out["error_map"] = [list(row) for row in self.error_map]
            out["error_axes"] = self.error_axes
        return out


def explained(message: str, finding: Finding | None, sep: str = "; ") -> tuple[str, tuple[str, ...]]:
    """A failing case's message with the diagnosis's summary appended, and its mistake ids."""
    if finding is not None and finding.summary:
        message += f"{sep}{finding.summary}"
    return message, ((finding.mistake,) if finding is not None and finding.mistake else ())


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    error: float | None = None
    message: str = ""
    mistakes: tuple[str, ...] = ()
    finding: Finding | None = None


@dataclass(frozen=True)
class CheckResult:
    id: str
    function: str
    kind: str
    passed: bool
    fraction: float  # share of the check's cases that passed, for partial credit
    message: str
    mistakes: tuple[str, ...] = ()
    cases: tuple[CaseResult, ...] = ()
    finding: Finding | None = None
    # Never scored: what the function does on cases beyond the assignment's contract
    # (``advice_cases``), in words for the student. Not a mistake, not in ``mistakes``.
    advice: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A call that gave no comparable output, already put in words for the student."""

    mistakes: tuple[str, ...]
    message: str
    output: str | None = None  # the output with the wrong shape, if that is the problem
    value: np.ndarray | None = None


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


def describe_problem(fn: FunctionSpec, problem: Problem) -> Failure:
    from gradgrader.hints import hint_for

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


def shape_text(shape: tuple[int, ...]) -> str:
    return "a number" if shape == () else f"shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


class Course:
    """An assignment prepared for grading: its generated inputs and the reference's
    outputs, computed once and shared by every submission (and every worker thread).

    In a student pack (no reference, no hooks) the same values are replayed from the
    pack's recording; ``recording`` (a dict) collects them when a pack is made."""

    def __init__(self, assignment: Assignment) -> None:
        from gradgrader.pack import is_pack, load_table

        self.assignment = assignment
        self.replay: dict[str, Any] | None = load_table(assignment.root) if is_pack(assignment.root) else None
        self.reference = None if self.replay is not None else reference_module(assignment)
        self._modules: dict[str, Any] = {}
        self.recording: dict[str, Any] | None = None
        self._inputs: dict[tuple[str, ...], dict[str, Any]] = {}
        self._ref: dict[str, dict[str, np.ndarray]] = {}
        self._hooks: dict[str, np.ndarray] = {}
        self._limits: dict[str, float] = {}

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
                    self._compute_reference(fn, ordered, self.reference)
                except Exception:  # noqa: BLE001 - a case the reference refuses is timed by the others
                    continue
                worst = max(worst, time.thread_time() - start)
            self._limits[function] = min(fn.timeout, max(CALL_FLOOR_S, CALL_FACTOR * worst))
        return self._limits[function]

    def reference_for(self, file: str | None) -> Any:
        """The reference module of a convention (``None``: reference.py)."""
        if file is None or file == "reference.py":
            return self.reference
        if file not in self._modules:
            from gradgrader.course import load_course_file

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


@dataclass
class CheckContext:
    """Everything a check may use for one submission."""

    course: Course
    session: Session
    notes: dict[str, Any] = field(default_factory=dict)  # per-submission scratch
    reference_file: str | None = None  # the reference of the submission's convention
    # a function graded in another convention than the submission's (see Conventions)
    reference_files: dict[str, str] = field(default_factory=dict)

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
        """A Failure if ``function`` is missing or cannot take the assignment's arguments."""
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
        args = self.inputs(function, case)
        fresh = self.course.redrawn_inputs(function, case)
        if fresh is None:
            return []
        fn = self.assignment.functions[function]
        names = [
            a for a in fn.args
            if isinstance(args[a], np.ndarray) and args[a].ndim >= 1 and args[a].size
            and isinstance(fresh.get(a), np.ndarray) and fresh[a].shape == args[a].shape and not np.array_equal(fresh[a], args[a])
        ]
        if not names:
            return []
        dims = self.course.dims(case)
        base = self.student(function, args, dims, need=outputs)
        if isinstance(base, Failure):
            return []
        ref = self.reference(function, args)
        variants: list[Mapping[str, Any]] = [{**args, a: fresh[a]} for a in names]
        ignored = []
        for a, variant, got in zip(names, variants, self.student_many(function, variants, dims, need=outputs)):
            if isinstance(got, Failure):
                continue
            moved = self.reference(function, variant)
            if any(rel_error(moved[o], ref[o]) > DEPENDS and rel_error(got[o], base[o]) <= IGNORES for o in outputs):
                ignored.append(a)
        return ignored

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

    def _validate(
        self, fn: FunctionSpec, got: Returned | Problem, args: Mapping[str, Any], dims: Mapping[str, int], need: list[str] | None
    ) -> dict[str, np.ndarray] | Failure:
        if isinstance(got, Problem):
            return describe_problem(fn, got)
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
                    from gradgrader.diagnose import MATCH_RTOL

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


def advice_cases(check: CheckSpec) -> frozenset[str]:
    """The cases of ``check`` that go beyond the assignment's contract: what the function
    does on them is told as advice and never scored (``advice_cases = [...]`` in TOML)."""
    return frozenset(str(c) for c in check.params.get("advice_cases", ()))


def scored_cases(check: CheckSpec, cases: list[CaseResult]) -> list[CaseResult]:
    """``cases`` without the check's advice cases: the ones its score is made of."""
    advice = advice_cases(check)
    return [c for c in cases if c.case not in advice]


def advice_text(check: CheckSpec, case: CaseResult) -> str:
    """What a failing advice case tells the student: what happened, then the author's
    ``advice`` text (why it matters and what avoids it)."""
    said = str(check.params.get("advice", "")).strip()
    return f"{case.message}" + (f" — {said}" if said else "")


def _isclose_compatible(got: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """A size-1 array where a number is expected, or a number where a (1,) array is:
    the only shape differences the course's np.isclose checks let through unnoticed."""
    return (expected == () and len(got) > 0 and all(n == 1 for n in got)) or (expected == (1,) and got == ())


# Ids that say the code did not run or return an answer: true of the case they are on,
# whatever the other cases did (SPEC §5's loading ids, and an answer that ignores its input).
RUNTIME_MISTAKES = frozenset(
    {"not-implemented", "wrong-shape", "nan-output", "timeout", "memory-limit", "crashed", "ignores-input"}
)


def _named_mistakes(failing: list[CaseResult]) -> list[str]:
    """The mistakes a check names from its failing cases.

    A runtime id is named when any case has it. A derivation mistake (sign-flipped,
    missing-normalization, …) is named only when more than half of the failing cases
    whose answer the diagnosis could read reproduce it. One case is no evidence when
    others say otherwise: on a tiny case a formula can match by coincidence (on a
    2-entry output with a zero sum every answer is a multiple of the correct one, so
    "the negative" matches an unrelated bug), while a real mistake reproduces on every
    case big enough to test it. A case the diagnosis could say nothing about (too
    small to decompose, e.g. three terms in a 2-entry dW, or a single number with no
    named factor) is left out of the count: it neither confirms nor contradicts."""
    named: list[str] = []
    for c in failing:
        for m in c.mistakes:
            if m in RUNTIME_MISTAKES and m not in named:
                named.append(m)
    read = [
        c for c in failing
        if not (set(c.mistakes) & RUNTIME_MISTAKES) and (c.mistakes or (c.finding is not None and c.finding.summary))
    ]
    for c in read:
        for m in c.mistakes:
            if m not in named and 2 * sum(m in other.mistakes for other in read) > len(read):
                named.append(m)
    return named


def summarise(
    check: CheckSpec,
    cases: list[CaseResult],
    passed_message: str | Callable[[list[CaseResult]], str],
    finding: Finding | None = None,
) -> CheckResult:
    """Combine per-case results: partial credit is the share of cases passed.

    Advice cases (:func:`advice_cases`) are left out of the score, the mistakes and
    the message; when every scored case passes, each failing advice case becomes a
    line of advice. (While the scored cases fail, their message is what to fix first.)
    ``passed_message`` may be a function of the scored cases."""
    advice_ids = advice_cases(check)
    advising = [c for c in cases if c.case in advice_ids and not c.passed]
    cases = [c for c in cases if c.case not in advice_ids]
    if callable(passed_message):
        passed_message = passed_message(cases)
    n_pass = sum(c.passed for c in cases)
    total = len(cases)
    fraction = n_pass / total if total else 0.0
    failing = [c for c in cases if not c.passed]
    mistakes = _named_mistakes(failing)
    if not failing:
        advice = tuple(advice_text(check, c) for c in advising)
        return CheckResult(check.id, check.function, check.kind, True, 1.0, passed_message, (), tuple(cases), advice=advice)
    first = failing[0]
    message = first.message
    if total > 1:
        names = ", ".join(c.case for c in failing)
        message += f" [fails on {len(failing)} of {total} cases: {names}]"
    finding = finding or next((c.finding for c in failing if c.finding is not None), None)
    if finding is not None and finding.mistake and finding.mistake not in mistakes:
        # Named on one case only: the summary stays (it is true of that case), the name goes.
        finding = dataclasses.replace(finding, mistake=None)
    return CheckResult(
        check.id, check.function, check.kind, False, fraction, message, tuple(mistakes), tuple(cases), finding
    )


def case_label(ctx: CheckContext, case: str, args: Mapping[str, Any] | None = None) -> str:
    """``case 'medium' (N=40, D=12, K=5, reg=0.25)`` — enough for a student to reproduce it."""
    spec = ctx.assignment.cases[case]
    bits = [f"{k}={v}" for k, v in spec.dims.items()]
    if args:
        bits += [f"{k}={v:g}" for k, v in args.items() if isinstance(v, float)]
    text = f"case '{case}' ({', '.join(bits)})"
    if spec.description:
        text += f" — {spec.description}"
    return text
