"""The registry of check kinds, by name, so that an assignment's TOML refers to them.

Each kind is a function ``(CheckSpec, CheckContext) -> CheckResult`` plus the set of
parameters it accepts (validated when the assignment loads, so a typo in a TOML
file is reported before anyone is graded). A course adds behaviour without touching
gradgrader through ``kind = "hook"`` and a function in its ``hooks.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gradgrader.checks.context import CheckContext
from gradgrader.errors import ConfigError
from gradgrader.findings import CheckResult
from gradgrader.spec import Assignment, CheckSpec

CheckFn = Callable[[CheckSpec, CheckContext], CheckResult]


@dataclass(frozen=True)
class CheckKind:
    name: str
    run: CheckFn
    params: frozenset[str]
    required: frozenset[str]
    needs_cases: bool
    summary: str


KINDS: dict[str, CheckKind] = {}


def check_kind(
    name: str, *, params: Iterable[str] = (), required: Iterable[str] = (), needs_cases: bool = True
) -> Callable[[CheckFn], CheckFn]:
    """Register a check kind under ``name`` (the ``kind = "..."`` of a [[checks]] table)."""

    def register(fn: CheckFn) -> CheckFn:
        KINDS[name] = CheckKind(
            name, fn, frozenset(params) | frozenset(required), frozenset(required), needs_cases,
            (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name,
        )
        return fn

    return register


# Parameters every kind with cases takes (see checks/base.py: summarise).
#   advice_cases  cases beyond the assignment's contract: never scored; a failure there
#                 is told as advice while the other cases pass
#   advice        the author's words added to that advice (why, and what avoids it)
ADVICE_PARAMS = frozenset({"advice_cases", "advice"})


def validate_check(assignment: Assignment, check: CheckSpec, path: Path) -> None:
    where = f"{path}: [[checks]] id = {check.id!r}"
    kind = KINDS.get(check.kind)
    if kind is None:
        raise ConfigError(f"{where}: unknown kind {check.kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    _validate_advice(check, where)
    unknown = set(check.params) - kind.params - ADVICE_PARAMS
    if unknown and "*" not in kind.params:
        raise ConfigError(
            f"{where}: kind {check.kind!r} takes no parameter(s) {', '.join(sorted(unknown))}; "
            f"it takes: {', '.join(sorted(kind.params)) or 'none'}"
        )
    missing = kind.required - set(check.params)
    if missing:
        raise ConfigError(f"{where}: kind {check.kind!r} needs {', '.join(sorted(missing))}")
    if kind.needs_cases and not check.cases:
        raise ConfigError(f"{where}: needs cases = [...] naming the cases it runs on")
    fn = assignment.functions[check.function]
    names = {o.name for o in fn.outputs}
    for key in ("output", "objective", "gradient"):
        value = check.params.get(key)
        if key == "objective" and check.kind == "objective_gradient":
            continue
        if value is not None and value not in names:
            raise ConfigError(f"{where}: {key} = {value!r} is not an output of {fn.name} ({', '.join(names)})")
    wrt = check.params.get("wrt")
    if wrt is not None and wrt not in fn.args:
        raise ConfigError(f"{where}: wrt = {wrt!r} is not an argument of {fn.signature}")


def _validate_advice(check: CheckSpec, where: str) -> None:
    advice = check.params.get("advice_cases")
    if advice is None:
        if "advice" in check.params:
            raise ConfigError(f"{where}: advice = ... needs advice_cases = [...] naming the cases it is about")
        return
    if not isinstance(advice, (list, tuple)) or not all(isinstance(c, str) for c in advice) or not advice:
        raise ConfigError(f"{where}: advice_cases must be a list of case names, e.g. advice_cases = [\"wide\"]")
    stray = [c for c in advice if c not in check.cases]
    if stray:
        raise ConfigError(f"{where}: advice_cases {', '.join(map(repr, stray))} must also be in cases = [...] of this check")
    if set(advice) >= set(check.cases):
        raise ConfigError(
            f"{where}: every case is an advice case, so the check would give its points for nothing; "
            "keep at least one case the assignment's contract asks for"
        )
    if not isinstance(check.params.get("advice", ""), str):
        raise ConfigError(f"{where}: advice must be a string (the words added to the advice)")


def run_check(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run ``check``; a shape accepted leniently during the run (a size-1 array for a
    number) is noted in its message."""
    ctx.notes["shape_notes"] = {}
    result = KINDS[check.kind].run(check, ctx)
    notes = ctx.shape_notes(check.function)
    if notes:
        result = dataclasses.replace(result, message=result.message + "".join(f" (note: {n})" for n in notes))
    return result
