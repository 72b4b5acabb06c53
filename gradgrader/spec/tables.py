"""Parsing ``assignment.toml``: one function per TOML table.

Only parsing: every value is checked for its type and its references to other tables
of the same file. What needs the check kinds, the generators or the course's hooks is
validated one layer up (:func:`gradgrader.assignment.load_assignment`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gradgrader._toml import load_toml
from gradgrader.errors import ConfigError
from gradgrader.spec.feedback import parse_feedback
from gradgrader.spec.locate import find_assignment
from gradgrader.spec.models import (
    ASSIGNMENT_FILE,
    DEFAULT_STUBS,
    FEEDBACK_FILE,
    KNOWN_STUBS,
    Assignment,
    CaseSpec,
    CheckSpec,
    Convention,
    Conventions,
    FunctionSpec,
    InputSpec,
    Limits,
    OutputSpec,
    _frozen,
)
from gradgrader.spec.packdata import is_pack
from gradgrader.spec.reader import Reader, one_or_many, parse_shape

TOP_TABLES = {"assignment", "functions", "inputs", "cases", "checks", "diagnosis", "conventions"}
META_KEYS = {"name", "title", "file", "seed", "rtol", "timeout", "budget", "memory_mb", "output_kb", "helpers",
             "packages", "stubs"}


def parse_outputs(r: Reader) -> tuple[OutputSpec, ...]:
    raw = r.table.get("returns")
    if raw is None:
        raise r.fail("returns", "is required: a table {name, shape} or a list of them")
    items = raw if isinstance(raw, list) else [raw]
    outputs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise r.fail("returns", f"entry {i} must be a table {{name = ..., shape = [...]}}")
        ir = Reader(r.path, item, f"{r.where}.returns[{i}]")
        ir.unknown_keys({"name", "shape"})
        outputs.append(OutputSpec(ir.get("name", str), parse_shape(ir, "shape", ir.get("shape", list))))
    names = [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise r.fail("returns", f"output names must be distinct, got {names}")
    return tuple(outputs)


def parse_input(r: Reader, name: str, value: Any) -> InputSpec:
    if isinstance(value, (bool, int, float, list)):
        return InputSpec(name, "constant", _frozen({"value": value}))
    if not isinstance(value, dict) or "gen" not in value:
        raise r.fail(name, "must be a literal number/list or a table with gen = \"...\"")
    params = {k: v for k, v in value.items() if k != "gen"}
    if not isinstance(value["gen"], str):
        raise r.fail(name, "gen must be a generator name")
    if "shape" in params:
        params["shape"] = parse_shape(r, name, params["shape"])
    return InputSpec(name, value["gen"], _frozen(params))


def parse_environment(meta: Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
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


def parse_limits(meta: Reader) -> Limits:
    """The ``timeout``, ``budget``, ``memory_mb`` and ``output_kb`` of [assignment]."""
    limits = Limits(
        call_timeout=meta.positive("timeout", Limits.call_timeout),
        budget=meta.positive("budget", Limits.budget),
        memory_mb=int(meta.positive("memory_mb", Limits.memory_mb)),
        output_kb=int(meta.positive("output_kb", Limits.output_kb)),
    )
    if limits.memory_mb < 256:
        raise meta.fail("memory_mb", "must be at least 256 (MiB on top of the interpreter with numpy imported; less leaves too little room for a case's arrays)")
    return limits


def parse_meta(meta: Reader, root: Path) -> dict[str, Any]:
    """[assignment]: the fields of :class:`Assignment` it decides."""
    meta.unknown_keys(META_KEYS)
    limits = parse_limits(meta)
    filename = meta.get("file", str)
    if not filename.endswith(".py") or "/" in filename:
        raise meta.fail("file", f"must be a plain Python file name like 'softmax.py', not {filename!r}")
    helpers = tuple(meta.get("helpers", list, []))
    for h in helpers:
        if not isinstance(h, str) or not ((root / h).is_file() or (root / h).is_dir()) or h in {"reference.py", "hooks.py"}:
            raise meta.fail("helpers", f"{h!r} is not a course module, package or data file in {root}")
    packages, stubs = parse_environment(meta)
    return {
        "name": meta.get("name", str), "title": meta.get("title", str, ""), "filename": filename,
        "seed": meta.get("seed", int, 0), "rtol": meta.positive("rtol", 1e-5), "limits": limits,
        "helpers": helpers, "packages": packages, "stubs": stubs,
    }


def parse_functions(fr: Reader, limits: Limits) -> dict[str, FunctionSpec]:
    """[functions.NAME]: the functions the student writes."""
    functions: dict[str, FunctionSpec] = {}
    for fname in fr.table:
        f = fr.sub(fname)
        f.unknown_keys({"args", "returns", "timeout", "description"})
        args = f.get("args", list)
        if not all(isinstance(a, str) and a.isidentifier() for a in args):
            raise f.fail("args", f"must be a list of argument names, not {args!r}")
        functions[fname] = FunctionSpec(
            name=fname,
            args=tuple(args),
            outputs=parse_outputs(f),
            timeout=f.positive("timeout", limits.call_timeout),
            description=f.get("description", str, ""),
        )
    return functions


def parse_inputs(ir: Reader, fr: Reader, functions: Mapping[str, FunctionSpec]) -> dict[str, InputSpec]:
    """[inputs]: a generator (or a literal) for every argument of every function."""
    inputs = {name: parse_input(ir, name, value) for name, value in ir.table.items()}
    for fn in functions.values():
        for arg in fn.args:
            if arg not in inputs:
                raise fr.fail(f"{fn.name}.args", f"argument {arg!r} has no generator in [inputs]")
    return inputs


def parse_cases(cr: Reader) -> dict[str, CaseSpec]:
    """[cases.NAME]: sizes, input overrides, description, public or hidden."""
    cases: dict[str, CaseSpec] = {}
    for cname in cr.table:
        c = cr.sub(cname)
        c.unknown_keys({"dims", "inputs", "description", "public"})
        dims = c.get("dims", dict)
        for d, v in dims.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise c.fail("dims", f"{d} must be a positive whole number, not {v!r}")
        overrides_r = c.sub("inputs") if "inputs" in c.table else Reader(cr.path, {}, "")
        overrides = {n: parse_input(overrides_r, n, v) for n, v in overrides_r.table.items()}
        cases[cname] = CaseSpec(
            name=cname,
            dims=_frozen(dims),
            inputs=_frozen(overrides),
            description=c.get("description", str, ""),
            public=c.get("public", bool, True),
        )
    return cases


CHECK_KEYS = {"id", "function", "kind", "cases", "description", "next_step"}  # the rest are the kind's parameters


def parse_checks(top: Reader, functions: Mapping[str, FunctionSpec], cases: Mapping[str, CaseSpec]) -> tuple[CheckSpec, ...]:
    """[[checks]]: ids unique, functions and cases known (the kind is validated above)."""
    raw_checks = top.table.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise top.fail("checks", "must be a non-empty array of tables [[checks]]")
    checks: list[CheckSpec] = []
    seen: set[str] = set()
    for i, table in enumerate(raw_checks):
        k = Reader(top.path, table, f"checks[{i}]")
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
        checks.append(CheckSpec(
            id=cid,
            function=fname,
            kind=k.get("kind", str),
            cases=case_names,
            params=_frozen({key: v for key, v in table.items() if key not in CHECK_KEYS}),
            description=k.get("description", str, ""),
            next_step=k.get("next_step", str, ""),
        ))
    return tuple(checks)


def parse_diagnosis(top: Reader, functions: Mapping[str, FunctionSpec]) -> dict[str, Mapping[str, Any]]:
    """[diagnosis."function.output"]: kept as tables (the diagnosis reads them)."""
    diagnosis: dict[str, Mapping[str, Any]] = {}
    if "diagnosis" not in top.table:
        return diagnosis
    dr = top.sub("diagnosis")
    for key in dr.table:
        fname, _, oname = key.partition(".")
        if fname not in functions or (oname and oname not in {o.name for o in functions[fname].outputs}):
            raise dr.fail(key, "must name a function's output as \"function.output\"")
        diagnosis[key] = _frozen(dr.sub(key).table)
    return diagnosis


def parse_conventions(
    top: Reader, root: Path, functions: Mapping[str, FunctionSpec], cases: Mapping[str, CaseSpec]
) -> Conventions | None:
    """[conventions]: several accepted conventions, each with its own reference."""
    if "conventions" not in top.table:
        return None
    cv = top.sub("conventions")
    cv.unknown_keys({"decide", "options"})
    decide = cv.sub("decide")
    decide.unknown_keys({"function", "functions", "output", "outputs", "case"})
    dfns = one_or_many(decide, "function", "functions")
    douts = one_or_many(decide, "output", "outputs")
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
        if not (root / ref).is_file() and not is_pack(root):  # a pack records it instead
            raise o.fail("reference", f"{ref!r} is not a file in {root}")
        opts.append(Convention(oname, ref, o.get("label", str, oname)))
    if not opts:
        raise options.fail(None, "needs at least one option")
    return Conventions(dfns, douts, dcase, tuple(opts))


def parse_assignment(name_or_path: str | Path) -> Assignment:
    """Parse an assignment folder (by shipped name or path), table by table.

    Only parsing: :func:`gradgrader.assignment.load_assignment` also validates the check
    kinds' parameters and resolves every generator and hook the grader will need."""
    root = find_assignment(str(name_or_path))
    path = root / ASSIGNMENT_FILE
    top = Reader(path, load_toml(path), "")
    top.unknown_keys(TOP_TABLES)
    meta = parse_meta(top.sub("assignment"), root)
    fr = top.sub("functions")
    functions = parse_functions(fr, meta["limits"])
    inputs = parse_inputs(top.sub("inputs"), fr, functions)
    cases = parse_cases(top.sub("cases"))
    assignment = Assignment(
        root=root,
        functions=_frozen(functions),
        inputs=_frozen(inputs),
        cases=_frozen(cases),
        checks=parse_checks(top, functions, cases),
        diagnosis=_frozen(parse_diagnosis(top, functions)),
        feedback=parse_feedback(root / FEEDBACK_FILE),
        conventions=parse_conventions(top, root, functions, cases),
        **meta,
    )
    if not assignment.reference_path.is_file() and not is_pack(root):
        raise ConfigError(f"{root}: the assignment has no reference.py")
    return assignment
