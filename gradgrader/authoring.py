"""For students and course staff: find the assignment of a file, write the starter,
validate an assignment before anyone is graded, scaffold a new assignment."""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gradgrader._toml import load_toml
from gradgrader.assignment import load_assignment
from gradgrader.cases import case_inputs, copy_value
from gradgrader.course import hook, materialise, reference_module
from gradgrader.errors import ConfigError, SubmissionError
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.results import Result
from gradgrader.rubric import default_rubric, find_rubric, load_rubric
from gradgrader.sandbox.layers import Isolation
from gradgrader.sandbox.prestart import Prestarted
from gradgrader.spec import (
    ASSIGNMENT_FILE,
    Assignment,
    parse_assignment,
    shipped_assignments,
    variant_hooks,
)

# ----------------------------------------------------------------- which assignment?


_DEF = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def _defined_functions(path: Path) -> set[str]:
    """Top-level function names of a Python file or notebook, read with ast (never
    executed); a file that does not parse (a syntax error the check will report) is
    read line by line for ``def name(`` at the start of a line instead."""
    try:
        if path.suffix == ".ipynb":
            from gradgrader.ingest.notebook import notebook_module

            source = notebook_module(path, path.with_suffix(".py").name).source
        else:
            source = path.read_text(encoding="utf-8", errors="replace")
    except (ValueError, OSError, SubmissionError):
        return set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set(_DEF.findall(source))
    # A notebook's cells become ``try:`` blocks (one failing cell does not stop the
    # others): a function defined in one is still defined at the module's top level.
    body = [n for node in tree.body for n in (node.body if isinstance(node, ast.Try) else [node])]
    return {node.name for node in body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def detect_assignment(path: Path) -> tuple[Assignment, str]:
    """The one shipped assignment ``path`` belongs to, and why it was chosen.

    By file name first (``softmax.py`` → the assignment whose file is softmax.py), else
    by the functions the file defines. Ambiguity is an error, never a guess. Only the
    assignment chosen is loaded in full (its hooks resolved, its checks validated): the
    others are only parsed for their file and function names (a student's check, #17)."""
    assignment, why = _detect(path)
    return load_assignment(assignment.root), why


class _Named(NamedTuple):
    """What detection compares of an assignment: its name, file and functions."""

    name: str
    filename: str
    functions: tuple[str, ...]
    root: Path


def _named(folder: Path) -> _Named:
    """An assignment's name, file and function names read from its TOML (remembered
    parse, ~0.1 ms); one whose TOML lacks them is parsed in full, for the error."""
    data = load_toml(folder / ASSIGNMENT_FILE)
    meta, functions = data.get("assignment"), data.get("functions")
    if isinstance(meta, dict) and isinstance(functions, dict):
        name, filename = meta.get("name"), meta.get("file")
        if isinstance(name, str) and isinstance(filename, str):
            return _Named(name, filename, tuple(functions), folder)
    a = parse_assignment(folder)
    return _Named(a.name, a.filename, tuple(a.functions), a.root)


def _detect(path: Path) -> tuple[_Named, str]:
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    assignments = [_named(folder) for folder in shipped_assignments().values()]
    if path.is_file():
        files = [path]
    else:
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in {".py", ".ipynb"})
        wanted = {a.filename for a in assignments} | {Path(a.filename).stem + ".ipynb" for a in assignments}
        if not {f.name for f in files} & wanted:
            # A project folder: the file may sit below (src/softmax.py), where `check` finds it.
            from gradgrader.ingest.folders import gradable_files

            files = sorted(set(files) | set(gradable_files(path)[:50]))
    by_name = [
        a for a in assignments
        if any(f.name == a.filename or (f.suffix == ".ipynb" and f.stem == Path(a.filename).stem) for f in files)
    ]
    def named(a: _Named) -> str:
        # A notebook is chosen by its name too (softmax.ipynb for softmax.py): say which.
        nb = next((f.name for f in files if f.suffix == ".ipynb" and f.stem == Path(a.filename).stem), None)
        exact = any(f.name == a.filename for f in files)
        return f"the notebook is named {nb}" if nb and not exact else f"the file is named {a.filename}"

    if len(by_name) == 1:
        return by_name[0], named(by_name[0])
    # Several courses call the file softmax.py: their function names tell them apart.
    candidates = by_name or assignments
    defined: set[str] = set()
    for f in files:
        defined |= _defined_functions(f)
    scores = {a.name: len(defined & set(a.functions)) for a in candidates}
    best = max(scores.values(), default=0)
    winners = [a for a in candidates if scores[a.name] == best and best > 0]
    if len(winners) == 1:
        a = winners[0]
        because = f"{named(a)} and " if by_name else ""
        return a, f"{because}it defines {best} of its {len(a.functions)} functions ({', '.join(sorted(defined & set(a.functions)))})"
    names = ", ".join(a.name for a in (winners or candidates))
    raise ConfigError(f"{path}: cannot tell which assignment this is ({names}); give --assignment NAME")


# ----------------------------------------------------------------- init


def write_starter(assignment: Assignment, folder: Path, force: bool = False) -> Path:
    """Copy the assignment's starter file into ``folder`` under the name students submit."""
    starter = assignment.root / "starter.py"
    if not starter.is_file():
        raise ConfigError(f"{assignment.root}: the assignment has no starter.py")
    target = folder / assignment.filename
    if target.exists() and not force:
        raise SubmissionError(f"{target} already exists; pass --force to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(starter, target)
    return target


# ----------------------------------------------------------------- validate


@dataclass
class Validation:
    """The verdict on an assignment's reference and configuration."""

    assignment: Assignment
    problems: list[str] = field(default_factory=list)
    result: Result | None = None
    warnings: list[str] = field(default_factory=list)  # worth fixing, but the assignment grades

    @property
    def ok(self) -> bool:
        return not self.problems


# Terms must add up to the reference to float64 precision: they are the reference's own
# formula split into parts, evaluated on the same inputs.
TERMS_RTOL = 1e-8


def _check_diagnosis(assignment: Assignment, problems: list[str]) -> None:
    ref = reference_module(assignment)
    equal_on: dict[tuple[str, str], list[bool]] = {}
    for key, config in assignment.diagnosis.items():
        fname, _, oname = key.partition(".")
        fn = assignment.functions[fname]
        cases = sorted({c for check in assignment.checks if check.function == fname for c in check.cases})
        for case in cases:
            args = case_inputs(assignment, fname, case)
            out = getattr(ref, fname)(*[materialise(assignment, copy_value(args[a])) for a in fn.args])
            names = [o.name for o in fn.outputs]
            value = out if len(names) == 1 else (out[names.index(oname)] if oname else out[0])
            r = np.asarray(value, dtype=float)
            terms = config.get("terms") or {}
            if terms:
                built = {k: materialise(assignment, copy_value(v)) for k, v in args.items()}
                total = sum(np.asarray(hook(assignment, h, key)(**built), dtype=float) for h in terms.values())
                err = float(np.linalg.norm(total - r)) / max(float(np.linalg.norm(r)), 1e-300)
                if not err <= TERMS_RTOL:
                    problems.append(
                        f"diagnosis terms of {key} ({', '.join(terms)}) do not add up to the reference on case "
                        f"'{case}' (relative error {err:.2g}): a term hook or the reference is wrong"
                    )
            for mistake, h in variant_hooks(config):
                v = np.asarray(hook(assignment, h, key)(**{k: materialise(assignment, copy_value(x)) for k, x in args.items()}), dtype=float)
                equal_on.setdefault((key, mistake), []).append(v.shape == r.shape and bool(np.allclose(v, r, rtol=1e-12, atol=0)))
    # A wrong answer may coincide with the right one on some inputs (A⁻¹ = A⁻ᵀ when D = 1);
    # one that does on every case can never be recognised.
    for (key, mistake), equal in equal_on.items():
        if equal and all(equal):
            problems.append(f"diagnosis variant {mistake!r} of {key} equals the reference on every case: it can never be recognised")


# Mistakes a kind of check names by itself (beyond its ``mistake = ...`` options).
_KIND_MISTAKES = {
    "self_consistency": ("loss-gradient-mismatch", "nan-output"),
    "objective_gradient": ("nan-output", "sign-flipped"),
    "compare": ("sign-flipped",),
}


def mistakes_without_feedback(assignment: Assignment) -> list[str]:
    """One warning per mistake id the assignment can name that has no entry in its
    feedback.toml (nor built-in text, as the runtime ones have): students would see the
    bare id (``loss-gradient-mismatch``) with no title, explanation or next step."""
    from gradgrader.hints import RUNTIME_FEEDBACK

    sources: dict[str, list[str]] = {}
    for check in assignment.checks:
        named = [check.params.get("mistake"), check.params.get("underflow_mistake"), *_KIND_MISTAKES.get(check.kind, ())]
        for mistake in named:
            if isinstance(mistake, str) and mistake:
                sources.setdefault(mistake, []).append(f"check {check.id}")
    for key, config in assignment.diagnosis.items():
        found = [*dict(config.get("scales") or {}).values(), *dict(config.get("variants") or {})]
        found += [p.get("mistake") for p in config.get("patterns") or [] if isinstance(p, dict)]
        if config.get("transposed"):
            found.append(config["transposed"])
        for mistake in found:
            if isinstance(mistake, str) and mistake:
                sources.setdefault(mistake, []).append(f"diagnosis {key}")
    warnings = []
    for mistake in sorted(sources):
        if mistake in assignment.feedback or mistake in RUNTIME_FEEDBACK:
            continue
        where = list(dict.fromkeys(sources[mistake]))
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        warnings.append(
            f"mistake {mistake!r} (from {shown}) has no [{mistake}] entry in feedback.toml: students see the bare "
            "id with no title, explanation or next step"
        )
    return warnings


def pack_warnings(assignment: Assignment) -> list[str]:
    """What ``gradgrader pack`` should warn about before handing a pack to students:
    mistake ids without feedback text, and no hidden case (``public = false``) — then
    the pack's expected.npz holds the reference's answer to every graded case."""
    warnings = mistakes_without_feedback(assignment)
    if all(case.public for case in assignment.cases.values()):
        warnings.append(
            "no case is hidden (public = false): the pack's expected.npz holds the reference's answer to every case "
            "a student's self-check runs, so the self-check can be passed by reading answers (course grading uses "
            "inputs made with the course's secret, so no grade is at stake); mark at least one case public = false"
        )
    return warnings


def _check_rubric(assignment: Assignment, problems: list[str]) -> None:
    """The rubric ``check`` and ``grade`` will use (the assignment's rubric.toml, else
    rubrics/NAME.toml) must load: a check it names that no longer exists makes them stop."""
    path = find_rubric(assignment)
    if path is None:
        return
    try:
        load_rubric(path, assignment)
    except ConfigError as exc:
        problems.append(f"the rubric does not fit the assignment (check and grade would stop): {exc}")


def validate(assignment: Assignment, isolation: Isolation | None = None, prestarted: Prestarted | None = None) -> Validation:
    """Grade the reference with every check of the assignment (not only the rubric's):
    it must pass all of them — including the finite-difference checks of its own
    objectives, which catch a reference with a dropped ½ — and the diagnosis terms must
    add up to it. ``prestarted``: a zygote started early for it (``grade`` starts it
    before opening the class, #17), adopted or closed."""
    report = Validation(assignment)
    from gradgrader.pack import is_pack

    if is_pack(assignment.root):
        if prestarted is not None:
            prestarted.close()
        report.problems.append(f"{assignment.root} is a student pack: it has no reference to validate (its course validated it when the pack was made)")
        return report
    try:
        _check_rubric(assignment, report.problems)
        report.warnings.extend(mistakes_without_feedback(assignment))
        try:
            _check_diagnosis(assignment, report.problems)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - the course's own code failed
            report.problems.append(f"the diagnosis hooks fail: {type(exc).__name__}: {exc}")
        rubric = default_rubric(assignment)
    except BaseException:
        if prestarted is not None:
            prestarted.close()
        raise
    with Grader(assignment, rubric, jobs=1, isolation=isolation, prestarted=prestarted) as grader:
        result = grader.grade(Submission("reference", assignment.reference_path, None))
    report.result = result
    if result.status != "graded":
        report.problems.append(f"reference.py does not load in the sandbox: {result.message}")
    for check in result.checks:
        if not check.passed:
            report.problems.append(f"the reference fails its own check {check.id}: {check.message}")
    if result.mistakes:
        report.problems.append(f"the reference is diagnosed with mistakes: {', '.join(result.mistakes)}")
    if assignment.conventions is not None:
        # Every convention's reference must get full marks, graded against itself.
        with Grader(assignment, rubric, jobs=1, isolation=isolation) as grader:
            for option in assignment.conventions.options:
                r = grader.grade(Submission(option.name, assignment.root / option.reference, None))
                conv = r.convention
                if conv is None or conv.name != option.name or not conv.matched:
                    report.problems.append(f"convention {option.name!r}: {option.reference} is not recognised as following it")
                for check in r.checks:
                    if not check.passed:
                        report.problems.append(f"convention {option.name!r}: {option.reference} fails {check.id}: {check.message}")
    return report


# ----------------------------------------------------------------- new-assignment

TEMPLATE = Path(__file__).with_name("templates") / "assignment"


def scaffold(name: str, parent: Path) -> Path:
    """Write a new assignment folder ``parent/name`` that already grades (a worked
    least-squares example with reference, starter, hooks, feedback, rubric, samples)."""
    module = "".join(c if c.isalnum() else "_" for c in name).strip("_").lower()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
        raise ConfigError(f"{name!r} cannot name an assignment: use letters, digits, - and _ (starting with a letter)")
    target = parent / name
    if target.exists():
        raise ConfigError(f"{target} already exists")
    seed = sum(ord(c) * 31**i for i, c in enumerate(name)) % 2**31
    for src in sorted(TEMPLATE.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(TEMPLATE)
        dest = target / str(rel).replace("MODULE", module)
        dest.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        dest.write_text(text.replace("{{name}}", name).replace("{{module}}", module).replace("{{seed}}", str(seed)), encoding="utf-8")
    return target
