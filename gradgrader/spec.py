"""Assignment models, loaded from an assignment folder and validated.

An assignment is a folder::

    assignment.toml   functions, inputs, cases, checks, diagnosis (this module reads it)
    feedback.toml     explanation and next step for each mistake id (optional)
    reference.py      the course's solution; a valid submission itself
    hooks.py          course code the TOML names: input generators, gradient terms,
                      wrong variants, objectives, property checks (optional)
    starter.py        what students start from
    samples/          a class folder of example submissions

Everything here is a frozen value; nothing in this module runs course or student code.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gradgrader._toml import load_toml
from gradgrader.errors import ConfigError

# Packages the sandbox can replace by inert stand-ins (gradgrader/sandbox/stubs/): a
# course's file that imports them for its plots still loads. Every assignment gets
# them unless it sets ``stubs`` (or provides the real package in ``packages``).
KNOWN_STUBS = ("matplotlib", "seaborn")
DEFAULT_STUBS = KNOWN_STUBS

ASSIGNMENT_FILE = "assignment.toml"
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


# --------------------------------------------------------------------------- locating


def data_roots() -> list[Path]:
    """Folders searched for shipped assignments, rubrics and student packs, most
    specific first.

    ``GRADGRADER_HOME`` (a checkout or course folder holding ``assignments/`` and
    ``rubrics/``), then the data installed with the wheel (``packs/`` only: a student's
    install holds no answer key), then the source checkout this package lives in (an
    editable install: the full ``assignments/``).
    """
    roots: list[Path] = []
    env = os.environ.get("GRADGRADER_HOME")
    if env:
        roots.append(Path(env))
    here = Path(__file__).resolve().parent
    roots.append(here / "_data")
    roots.append(here.parent)
    return [r for r in roots if (r / "assignments").is_dir() or (r / PACKS).is_dir()]


PACKS = "packs"  # student packs of the shipped assignments (what the wheel ships)


def shipped_assignments() -> dict[str, Path]:
    """Names of the assignments shipped with gradgrader, mapped to their folders: the
    full assignment where one is found (a checkout, ``GRADGRADER_HOME``), else its
    student pack (all a wheel install has: ``check`` works, the reference stays out)."""
    found: dict[str, Path] = {}
    for kind in (PACKS, "assignments"):  # a full assignment wins over a pack of its name
        for root in reversed(data_roots()):
            if not (root / kind).is_dir():
                continue
            for folder in sorted((root / kind).iterdir()):
                if (folder / ASSIGNMENT_FILE).is_file():
                    found[folder.name] = folder
    return dict(sorted(found.items()))


def find_assignment(name_or_path: str) -> Path:
    """Resolve ``--assignment``: a shipped assignment's name, or a path to a folder."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        if not (candidate / ASSIGNMENT_FILE).is_file():
            raise ConfigError(
                f"{candidate}: not an assignment folder (it has no {ASSIGNMENT_FILE})"
            )
        return candidate.resolve()
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate.resolve().parent
    shipped = shipped_assignments()
    if name_or_path in shipped:
        return shipped[name_or_path]
    known = ", ".join(shipped) or "none"
    raise ConfigError(
        f"unknown assignment {name_or_path!r}: give a shipped name ({known}) "
        f"or the path of an assignment folder"
    )


# --------------------------------------------------------------------------- parsing


def _one_or_many(reader: _Reader, one: str, many: str) -> tuple[str, ...]:
    """``one = "x"`` or ``many = ["x", "y"]`` (exactly one of the two), as a tuple."""
    if (one in reader.table) == (many in reader.table):
        raise reader.fail(None, f"needs exactly one of {one} (a name) or {many} (a list of names)")
    if one in reader.table:
        return (reader.get(one, str),)
    names = reader.get(many, list)
    if not names or not all(isinstance(n, str) for n in names):
        raise reader.fail(many, "must be a non-empty list of names")
    return tuple(names)


class _Reader:
    """Typed access to a TOML table that names file and key in every error."""

    def __init__(self, path: Path, table: Mapping[str, Any], where: str) -> None:
        self.path, self.table, self.where = path, table, where

    def fail(self, key: str | None, problem: str) -> ConfigError:
        at = f"{self.where}.{key}" if key and self.where else (key or self.where)
        return ConfigError(f"{self.path}: [{at}] {problem}" if at else f"{self.path}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required but missing")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be a {names}, not {type(value).__name__} {value!r}")
        return value

    def positive(self, key: str, default: float) -> float:
        value = self.get(key, float, default)
        if not (value > 0 and math.isfinite(value)):
            raise self.fail(key, f"must be a positive number, not {value!r}")
        return value

    def sub(self, key: str) -> _Reader:
        value = self.get(key, dict)
        return _Reader(self.path, value, f"{self.where}.{key}" if self.where else key)

    def unknown_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self.table) - allowed)
        if extra:
            raise self.fail(
                None, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
            )


def _parse_shape(r: _Reader, key: str, value: Any) -> tuple[Dim, ...]:
    if not isinstance(value, list):
        raise r.fail(key, f"shape must be a list like [\"N\", \"K\"] or [], not {value!r}")
    shape: list[Dim] = []
    for d in value:
        if isinstance(d, bool) or not isinstance(d, (int, str)) or (isinstance(d, int) and d < 0):
            raise r.fail(key, f"shape entries are sizes or dimension names, not {d!r}")
        shape.append(d)
    return tuple(shape)


def _parse_outputs(r: _Reader) -> tuple[OutputSpec, ...]:
    raw = r.table.get("returns")
    if raw is None:
        raise r.fail("returns", "is required: a table {name, shape} or a list of them")
    items = raw if isinstance(raw, list) else [raw]
    outputs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise r.fail("returns", f"entry {i} must be a table {{name = ..., shape = [...]}}")
        ir = _Reader(r.path, item, f"{r.where}.returns[{i}]")
        ir.unknown_keys({"name", "shape"})
        outputs.append(OutputSpec(ir.get("name", str), _parse_shape(ir, "shape", ir.get("shape", list))))
    names = [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise r.fail("returns", f"output names must be distinct, got {names}")
    return tuple(outputs)


def _parse_input(r: _Reader, name: str, value: Any) -> InputSpec:
    if isinstance(value, (bool, int, float, list)):
        return InputSpec(name, "constant", _frozen({"value": value}))
    if not isinstance(value, dict) or "gen" not in value:
        raise r.fail(name, "must be a literal number/list or a table with gen = \"...\"")
    params = {k: v for k, v in value.items() if k != "gen"}
    if not isinstance(value["gen"], str):
        raise r.fail(name, "gen must be a generator name")
    if "shape" in params:
        params["shape"] = _parse_shape(r, name, params["shape"])
    return InputSpec(name, value["gen"], _frozen(params))


def _reflow(text: str) -> str:
    """Join the lines of each paragraph (TOML multi-line strings keep the file's line breaks)."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _parse_feedback(path: Path) -> Mapping[str, Feedback]:
    if not path.is_file():
        return _frozen({})
    data = load_toml(path)
    out: dict[str, Feedback] = {}
    for mistake, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{mistake}] must be a table with title and explanation")
        # [mistake.FUNCTION] tables: the explanation of that mistake on that function
        # (kept under "mistake@function"); the plain [mistake] is the fallback.
        per_function = {k: v for k, v in table.items() if isinstance(v, dict)}
        for function, sub in per_function.items():
            out[f"{mistake}@{function}"] = _parse_one_feedback(path, sub, f"{mistake}.{function}", mistake)
        own = {k: v for k, v in table.items() if k not in per_function}
        if own or not per_function:
            out[mistake] = _parse_one_feedback(path, own, mistake, mistake)
    return _frozen(out)


def _parse_one_feedback(path: Path, table: dict, where: str, mistake: str) -> Feedback:
    r = _Reader(path, table, where)
    r.unknown_keys({"title", "explanation", "next_step"})
    return Feedback(
        title=r.get("title", str, mistake),
        explanation=_reflow(r.get("explanation", str)),
        next_step=_reflow(r.get("next_step", str, "")),
    )


def variant_hooks(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(mistake id, hook name) of a diagnosis table's ``variants``, in order: a mistake
    may name one hook or a list (one wrong answer in several shapes, e.g. ∇_x xᵀAx as the
    (D,) vector and as a (D, D) outer product)."""
    out: list[tuple[str, str]] = []
    for mistake, hooks in dict(config.get("variants") or {}).items():
        for name in hooks if isinstance(hooks, list) else [hooks]:
            out.append((str(mistake), str(name)))
    return out


def feedback_for(assignment: Assignment, mistake: str, function: str) -> Feedback | None:
    """The explanation of ``mistake`` where it was found: the one written for
    ``function`` ([mistake.function] in feedback.toml), else the mistake's own."""
    return assignment.feedback.get(f"{mistake}@{function}") or assignment.feedback.get(mistake)


def _parse_environment(meta: _Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``packages`` (import names the course's environment provides besides numpy) and
    ``stubs`` (plotting packages served by inert stand-ins; matplotlib and seaborn by
    default, ``stubs = []`` for none)."""
    packages = meta.get("packages", list, [])
    for name in packages:
        if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")) or "." in name:
            raise meta.fail("packages", f"must be a list of top-level import names like 'scipy', not {name!r}")
        if name in {"numpy", "gradgrader"}:
            raise meta.fail("packages", f"{name!r} " + ("is always provided" if name == "numpy" else "is never importable"))
    stubs = meta.get("stubs", list, list(DEFAULT_STUBS))
    for name in stubs:
        if name not in KNOWN_STUBS:
            raise meta.fail("stubs", f"{name!r} has no stand-in; known: {', '.join(KNOWN_STUBS)}")
    return tuple(dict.fromkeys(packages)), tuple(s for s in dict.fromkeys(stubs) if s not in packages)


def load_assignment(name_or_path: str | Path) -> Assignment:
    """Load and validate an assignment by shipped name or folder path."""
    root = find_assignment(str(name_or_path))
    path = root / ASSIGNMENT_FILE
    data = load_toml(path)
    top = _Reader(path, data, "")
    top.unknown_keys({"assignment", "functions", "inputs", "cases", "checks", "diagnosis", "conventions"})

    meta = top.sub("assignment")
    meta.unknown_keys(
        {"name", "title", "file", "seed", "rtol", "timeout", "budget", "memory_mb", "output_kb", "helpers",
         "packages", "stubs"}
    )
    limits = Limits(
        call_timeout=meta.positive("timeout", Limits.call_timeout),
        budget=meta.positive("budget", Limits.budget),
        memory_mb=int(meta.positive("memory_mb", Limits.memory_mb)),
        output_kb=int(meta.positive("output_kb", Limits.output_kb)),
    )
    if limits.memory_mb < 256:
        raise meta.fail("memory_mb", "must be at least 256 (MiB on top of the interpreter with numpy imported; less leaves too little room for a case's arrays)")
    filename = meta.get("file", str)
    if not filename.endswith(".py") or "/" in filename:
        raise meta.fail("file", f"must be a plain Python file name like 'softmax.py', not {filename!r}")
    helpers = tuple(meta.get("helpers", list, []))
    for h in helpers:
        if not isinstance(h, str) or not ((root / h).is_file() or (root / h).is_dir()) or h in {"reference.py", "hooks.py"}:
            raise meta.fail("helpers", f"{h!r} is not a course module, package or data file in {root}")
    packages, stubs = _parse_environment(meta)

    functions: dict[str, FunctionSpec] = {}
    fr = top.sub("functions")
    for fname in fr.table:
        f = fr.sub(fname)
        f.unknown_keys({"args", "returns", "timeout", "description"})
        args = f.get("args", list)
        if not all(isinstance(a, str) and a.isidentifier() for a in args):
            raise f.fail("args", f"must be a list of argument names, not {args!r}")
        functions[fname] = FunctionSpec(
            name=fname,
            args=tuple(args),
            outputs=_parse_outputs(f),
            timeout=f.positive("timeout", limits.call_timeout),
            description=f.get("description", str, ""),
        )

    ir = top.sub("inputs")
    inputs = {name: _parse_input(ir, name, value) for name, value in ir.table.items()}
    for fn in functions.values():
        for arg in fn.args:
            if arg not in inputs:
                raise fr.fail(f"{fn.name}.args", f"argument {arg!r} has no generator in [inputs]")

    cases: dict[str, CaseSpec] = {}
    cr = top.sub("cases")
    for cname in cr.table:
        c = cr.sub(cname)
        c.unknown_keys({"dims", "inputs", "description", "public"})
        dims = c.get("dims", dict)
        for d, v in dims.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise c.fail("dims", f"{d} must be a positive whole number, not {v!r}")
        overrides_r = c.sub("inputs") if "inputs" in c.table else _Reader(path, {}, "")
        overrides = {n: _parse_input(overrides_r, n, v) for n, v in overrides_r.table.items()}
        cases[cname] = CaseSpec(
            name=cname,
            dims=_frozen(dims),
            inputs=_frozen(overrides),
            description=c.get("description", str, ""),
            public=c.get("public", bool, True),
        )

    checks: list[CheckSpec] = []
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise top.fail("checks", "must be a non-empty array of tables [[checks]]")
    seen: set[str] = set()
    for i, table in enumerate(raw_checks):
        k = _Reader(path, table, f"checks[{i}]")
        cid = k.get("id", str)
        if cid in seen:
            raise k.fail("id", f"{cid!r} is used by two checks")
        seen.add(cid)
        fname = k.get("function", str)
        if fname not in functions:
            raise k.fail("function", f"{fname!r} is not one of [functions]: {', '.join(functions)}")
        case_names = tuple(k.get("cases", list, []))
        for cn in case_names:
            if cn not in cases:
                raise k.fail("cases", f"{cn!r} is not one of [cases]: {', '.join(cases)}")
        params = {
            key: v for key, v in table.items() if key not in {"id", "function", "kind", "cases", "description", "next_step"}
        }
        checks.append(
            CheckSpec(
                id=cid,
                function=fname,
                kind=k.get("kind", str),
                cases=case_names,
                params=_frozen(params),
                description=k.get("description", str, ""),
                next_step=k.get("next_step", str, ""),
            )
        )

    diagnosis: dict[str, Mapping[str, Any]] = {}
    if "diagnosis" in data:
        dr = top.sub("diagnosis")
        for key in dr.table:
            fname, _, oname = key.partition(".")
            if fname not in functions or (oname and oname not in {o.name for o in functions[fname].outputs}):
                raise dr.fail(key, "must name a function's output as \"function.output\"")
            diagnosis[key] = _frozen(dr.sub(key).table)

    conventions = None
    if "conventions" in data:
        cv = top.sub("conventions")
        cv.unknown_keys({"decide", "options"})
        decide = cv.sub("decide")
        decide.unknown_keys({"function", "functions", "output", "outputs", "case"})
        dfns = _one_or_many(decide, "function", "functions")
        douts = _one_or_many(decide, "output", "outputs")
        dcase = decide.get("case", str)
        for dfn in dfns:
            if dfn not in functions or not set(douts) <= {o.name for o in functions[dfn].outputs}:
                raise decide.fail(None, f"{dfn!r}: must name functions of this assignment that each have the outputs {', '.join(douts)}")
        if dcase not in cases:
            raise decide.fail("case", f"{dcase!r} is not a case of this assignment")
        opts = []
        options = cv.sub("options")
        for oname in options.table:
            o = options.sub(oname)
            o.unknown_keys({"reference", "label"})
            ref = o.get("reference", str)
            if not (root / ref).is_file() and not _is_pack(root):  # a pack records it instead
                raise o.fail("reference", f"{ref!r} is not a file in {root}")
            opts.append(Convention(oname, ref, o.get("label", str, oname)))
        if not opts:
            raise options.fail(None, "needs at least one option")
        conventions = Conventions(dfns, douts, dcase, tuple(opts))

    assignment = Assignment(
        name=meta.get("name", str),
        title=meta.get("title", str, ""),
        root=root,
        filename=filename,
        seed=meta.get("seed", int, 0),
        rtol=meta.positive("rtol", 1e-5),
        limits=limits,
        functions=_frozen(functions),
        inputs=_frozen(inputs),
        cases=_frozen(cases),
        checks=tuple(checks),
        diagnosis=_frozen(diagnosis),
        feedback=_parse_feedback(root / FEEDBACK_FILE),
        helpers=helpers,
        conventions=conventions,
        packages=packages,
        stubs=stubs,
    )
    from gradgrader.pack import is_pack

    if not assignment.reference_path.is_file() and not is_pack(root):
        raise ConfigError(f"{root}: the assignment has no reference.py")
    # Check kinds validate their own parameters (imported here to keep spec free of checks at import).
    from gradgrader.checks import validate_check

    for check in assignment.checks:
        validate_check(assignment, check, path)
    _resolve_names(assignment, path)
    return assignment


_RAW_PARAMS = {"shape", "of", "factory", "fields"}  # generator parameters that are not dimension names


def _resolve_names(assignment: Assignment, path: Path) -> None:
    """Every name the grader will look up while grading — generators, hooks, dimensions,
    diagnosis coefficients — must resolve now, not halfway through a class."""
    from gradgrader.cases import GENERATORS
    from gradgrader.course import hook
    from gradgrader.diagnose import parse_coefficient
    from gradgrader.pack import is_pack

    packed = is_pack(assignment.root)

    def need_hook(name: str, where: str) -> None:
        if not packed:
            hook(assignment, name, f"{path}: {where}")

    def check_input(name: str, case: CaseSpec, seen: set[str]) -> None:
        if name in seen:
            return
        seen.add(name)
        spec = case.inputs.get(name) or assignment.inputs.get(name)
        where = f"{path}: input {name!r} (case {case.name!r})"
        if spec is None:
            raise ConfigError(f"{where}: no generator in [inputs] or in the case")
        if spec.gen.startswith("hooks."):
            need_hook(spec.gen[len("hooks."):], f"input {name!r}")
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
            check_input(str(spec.params.get("of")), case, seen)
        if spec.gen == "object":
            fields = spec.params.get("fields", [])
            for src in (fields.values() if isinstance(fields, dict) else fields):
                check_input(str(src), case, seen)

    cases_of: dict[str, set[str]] = {}
    for check in assignment.checks:
        cases_of.setdefault(check.function, set()).update(check.cases)
        if check.kind == "hook":
            need_hook(str(check.params["hook"]), f"check {check.id!r}")
        if check.kind == "objective_gradient":
            from gradgrader.checks.gradients import objective_hook

            objective = objective_hook(assignment, check, f"{path}: [[checks]] id = {check.id!r}")
            if objective is not None:
                need_hook(objective, f"check {check.id!r}")
    for fname, case_names in cases_of.items():
        for cname in sorted(case_names):
            seen: set[str] = set()
            for arg in assignment.functions[fname].args:
                check_input(arg, assignment.cases[cname], seen)
    for key, config in assignment.diagnosis.items():
        fname = key.partition(".")[0]
        for label, name in dict(config.get("terms") or {}).items():
            need_hook(str(name), f"diagnosis {key} terms {label!r}")
        for label, name in variant_hooks(config):
            need_hook(name, f"diagnosis {key} variants {label!r}")
        coefficients = list(dict(config.get("scales") or {}))
        for pattern in config.get("patterns") or []:
            coefficients += list(pattern.get("coef", []))
        for cname in sorted(cases_of.get(fname, ())):
            dims = assignment.cases[cname].dims
            for c in coefficients:
                try:
                    parse_coefficient(c, dims)
                except ConfigError as exc:
                    raise ConfigError(f"{path}: [diagnosis.\"{key}\"] case {cname!r}: {exc}") from None


def _is_pack(root: Path) -> bool:
    from gradgrader.pack import is_pack

    return is_pack(root)
