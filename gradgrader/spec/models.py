"""The assignment's data: frozen values parsed from an assignment folder.

Everything here is a frozen value; nothing in this module runs course or student code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

# re-exported: defined where assignment folders are found
from gradgrader.spec.locate import ASSIGNMENT_FILE as ASSIGNMENT_FILE

# Packages the sandbox can replace by inert stand-ins (gradgrader/sandbox/stubs/): a
# course's file that imports them for its plots still loads. Every assignment gets
# them unless it sets ``stubs`` (or provides the real package in ``packages``).
KNOWN_STUBS = ("matplotlib", "seaborn")
DEFAULT_STUBS = KNOWN_STUBS

FEEDBACK_FILE = "feedback.toml"

Dim = int | str  # a literal size or the name of a case dimension ("N", "K", ...)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class OutputSpec:
    """One value a student function returns: its name and its exact shape."""

    name: str
    shape: tuple[Dim, ...]

    def resolve(self, dims: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else dims[d] for d in self.shape)

    def describe(self) -> str:
        if not self.shape:
            return f"{self.name} (a number)"
        return f"{self.name} of shape ({', '.join(str(d) for d in self.shape)}{',' if len(self.shape) == 1 else ''})"


@dataclass(frozen=True)
class FunctionSpec:
    """A function the student writes: ``name(*args) -> outputs``."""

    name: str
    args: tuple[str, ...]
    outputs: tuple[OutputSpec, ...]
    timeout: float
    description: str = ""

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.args)})"

    def output(self, name: str) -> OutputSpec:
        for out in self.outputs:
            if out.name == name:
                return out
        raise KeyError(name)


@dataclass(frozen=True)
class InputSpec:
    """How to make one argument: a generator name and its parameters, or a literal."""

    name: str
    gen: str
    params: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))


@dataclass(frozen=True)
class CaseSpec:
    """A named set of sizes (and input overrides) that functions are called on."""

    name: str
    dims: Mapping[str, int]
    inputs: Mapping[str, InputSpec]
    description: str = ""
    public: bool = True


@dataclass(frozen=True)
class CheckSpec:
    """One gradable check: a registered kind applied to one function on some cases."""

    id: str
    function: str
    kind: str
    cases: tuple[str, ...]
    params: Mapping[str, Any]
    description: str = ""
    next_step: str = ""  # shown under the check when it fails and no mistake gives a better one


@dataclass(frozen=True)
class Feedback:
    """What a student reads about a mistake: the explanation and one next step."""

    title: str
    explanation: str
    next_step: str = ""


@dataclass(frozen=True)
class Convention:
    """One accepted convention: its own reference file and a label for the student."""

    name: str
    reference: str
    label: str


@dataclass(frozen=True)
class Conventions:
    """Several accepted conventions (e.g. CS231n's reg·ΣW² or ½·reg·ΣW²).

    Each of ``functions`` is graded against the convention it follows itself: the first
    of its ``outputs`` (in order) that matches an option's reference on ``case`` decides.
    A function that matches none (it crashed, or is wrong) — and every function not in
    ``functions`` — is graded in the convention of the first function that matched one,
    so a correct function is never failed for another function's convention."""

    functions: tuple[str, ...]
    outputs: tuple[str, ...]
    case: str
    options: tuple[Convention, ...]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's sandboxed process."""

    call_timeout: float = 10.0  # wall seconds for one call, unless the function sets its own
    budget: float = 120.0  # wall seconds for the whole submission
    memory_mb: int = 1024  # MiB the student may allocate on top of the measured interpreter + numpy baseline
    output_kb: int = 64  # captured stdout/stderr kept per submission


@dataclass(frozen=True)
class Assignment:
    """A validated assignment folder."""

    name: str
    title: str
    root: Path
    filename: str  # what the student's file is called, e.g. "softmax.py"
    seed: int
    rtol: float
    limits: Limits
    functions: Mapping[str, FunctionSpec]
    inputs: Mapping[str, InputSpec]
    cases: Mapping[str, CaseSpec]
    checks: tuple[CheckSpec, ...]
    diagnosis: Mapping[str, Mapping[str, Any]]
    feedback: Mapping[str, Feedback]
    helpers: tuple[str, ...] = ()  # course modules copied read-only beside each submission
    packages: tuple[str, ...] = ()  # installed packages the course provides besides numpy, e.g. ("scipy",)
    stubs: tuple[str, ...] = DEFAULT_STUBS  # plotting packages replaced by inert stand-ins
    conventions: Conventions | None = None

    @property
    def reference_path(self) -> Path:
        return self.root / "reference.py"

    @property
    def hooks_path(self) -> Path:
        return self.root / "hooks.py"

    @property
    def module_name(self) -> str:
        return Path(self.filename).stem

    def check(self, check_id: str) -> CheckSpec:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)



@dataclass(frozen=True)
class Composite:
    """An argument of the course's own type — e.g. MIT 6.86x's ``GaussianMixture``
    NamedTuple — built from named plain values by ``factory`` ("module:callable", a
    module among the assignment's helpers). Only the plain values cross into the
    sandbox; the object is rebuilt there, and in the grader for the reference."""

    factory: str
    fields: Mapping[str, Any]
