"""Loading an assignment for grading: parse, then validate what needs the engine.

:func:`gradgrader.spec.parse_assignment` reads the TOML (layer 1). Here, above the
checks and the inputs, every name the grader will look up while grading — check kinds
and their parameters, generators, hooks, dimensions, diagnosis coefficients — must
resolve now, not halfway through a class.
"""

from __future__ import annotations

from pathlib import Path

from gradgrader.cases import GENERATORS
from gradgrader.checks import validate_check
from gradgrader.checks.gradients import objective_hook
from gradgrader.course import hook
from gradgrader.diagnose import parse_coefficient
from gradgrader.errors import ConfigError
from gradgrader.spec import (
    ASSIGNMENT_FILE,
    Assignment,
    CaseSpec,
    is_pack,
    parse_assignment,
    variant_hooks,
)

_RAW_PARAMS = {"shape", "of", "factory", "fields"}  # generator parameters that are not dimension names


def load_assignment(name_or_path: str | Path) -> Assignment:
    """Load and validate an assignment by shipped name or folder path."""
    assignment = parse_assignment(name_or_path)
    path = assignment.root / ASSIGNMENT_FILE
    # Check kinds validate their own parameters.
    for check in assignment.checks:
        validate_check(assignment, check, path)
    _Resolver(assignment, path).run()
    return assignment


load = load_assignment


class _Resolver:
    """Resolves every generator, hook and coefficient an assignment names."""

    def __init__(self, assignment: Assignment, path: Path) -> None:
        self.assignment, self.path = assignment, path
        self.packed = is_pack(assignment.root)  # a pack has no hooks: its values are recorded

    def need_hook(self, name: str, where: str) -> None:
        if not self.packed:
            hook(self.assignment, name, f"{self.path}: {where}")

    def run(self) -> None:
        cases_of = self.check_hooks()
        for fname, case_names in cases_of.items():
            for cname in sorted(case_names):
                seen: set[str] = set()
                for arg in self.assignment.functions[fname].args:
                    self.check_input(arg, self.assignment.cases[cname], seen)
        self.check_diagnosis(cases_of)

    def check_hooks(self) -> dict[str, set[str]]:
        """The hooks of hook and objective checks; the cases each function is called on."""
        cases_of: dict[str, set[str]] = {}
        for check in self.assignment.checks:
            cases_of.setdefault(check.function, set()).update(check.cases)
            if check.kind == "hook":
                self.need_hook(str(check.params["hook"]), f"check {check.id!r}")
            if check.kind == "objective_gradient":
                objective = objective_hook(self.assignment, check, f"{self.path}: [[checks]] id = {check.id!r}")
                if objective is not None:
                    self.need_hook(objective, f"check {check.id!r}")
        return cases_of

    def check_input(self, name: str, case: CaseSpec, seen: set[str]) -> None:
        if name in seen:
            return
        seen.add(name)
        spec = case.inputs.get(name) or self.assignment.inputs.get(name)
        where = f"{self.path}: input {name!r} (case {case.name!r})"
        if spec is None:
            raise ConfigError(f"{where}: no generator in [inputs] or in the case")
        if spec.gen.startswith("hooks."):
            self.need_hook(spec.gen[len("hooks."):], f"input {name!r}")
        elif spec.gen not in GENERATORS:
            raise ConfigError(
                f"{where}: unknown generator {spec.gen!r}; built-in ones are {', '.join(sorted(GENERATORS))}, "
                "or 'hooks.NAME' for a function of hooks.py"
            )
        for key, value in spec.params.items():
            values = value if key == "shape" else ([] if key in _RAW_PARAMS else [value])
            for v in values:
                if isinstance(v, str) and v not in case.dims:
                    raise ConfigError(f"{where}: {key} names dimension {v!r}, but the case's dims are {', '.join(case.dims)}")
        if spec.gen == "row":
            self.check_input(str(spec.params.get("of")), case, seen)
        if spec.gen == "object":
            fields = spec.params.get("fields", [])
            for src in (fields.values() if isinstance(fields, dict) else fields):
                self.check_input(str(src), case, seen)

    def check_diagnosis(self, cases_of: dict[str, set[str]]) -> None:
        """Terms and variants are hooks; coefficients parse on every case of the function."""
        for key, config in self.assignment.diagnosis.items():
            fname = key.partition(".")[0]
            for label, name in dict(config.get("terms") or {}).items():
                self.need_hook(str(name), f"diagnosis {key} terms {label!r}")
            for label, name in variant_hooks(config):
                self.need_hook(name, f"diagnosis {key} variants {label!r}")
            coefficients = list(dict(config.get("scales") or {}))
            for pattern in config.get("patterns") or []:
                coefficients += list(pattern.get("coef", []))
            for cname in sorted(cases_of.get(fname, ())):
                dims = self.assignment.cases[cname].dims
                for c in coefficients:
                    try:
                        parse_coefficient(c, dims)
                    except ConfigError as exc:
                        raise ConfigError(f"{self.path}: [diagnosis.\"{key}\"] case {cname!r}: {exc}") from None
