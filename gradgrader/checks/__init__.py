"""Check kinds, registered by name so that an assignment's TOML refers to them.

Each kind is a function ``(CheckSpec, CheckContext) -> CheckResult`` plus the set of
parameters it accepts (validated when the assignment loads, so a typo in a TOML
file is reported before anyone is graded). A course adds behaviour without touching
gradgrader through ``kind = "hook"`` and a function in its ``hooks.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from gradgrader.checks.base import CheckContext, CheckResult
from gradgrader.errors import ConfigError
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


def validate_check(assignment: Assignment, check: CheckSpec, path: Path) -> None:
    where = f"{path}: [[checks]] id = {check.id!r}"
    kind = KINDS.get(check.kind)
    if kind is None:
        raise ConfigError(f"{where}: unknown kind {check.kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    unknown = set(check.params) - kind.params
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


def run_check(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    return KINDS[check.kind].run(check, ctx)


# Importing the modules registers their kinds.
from gradgrader.checks import custom, gradients, values  # noqa: E402,F401

__all__ = ["KINDS", "CheckContext", "CheckResult", "check_kind", "run_check", "validate_check"]
