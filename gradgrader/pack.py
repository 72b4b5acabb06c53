"""Student packs: an assignment students can self-check against, without the reference.

``gradgrader pack ASSIGNMENT --out DIR`` writes a copy of the assignment without
``reference.py``, ``hooks.py``, samples or hidden cases (``public = false``). What the
checks need from the course's code is recorded instead, for the public cases only: the
generated inputs, the reference's outputs on them, the diagnosis terms and variants on
them, and the course objectives at the finite-difference points (which depend only on
the case and the check, never on the student). ``kind = "hook"`` checks run course code
on the student's answers, so they stay with the course: a pack leaves them out.

The recording is ``expected.npz`` (plain arrays, loaded with ``allow_pickle=False``)
plus ``expected.json`` (which array is which).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from gradgrader.errors import ConfigError
from gradgrader.spec.packdata import ARRAYS, INDEX, PACK_INFO, is_pack, load_table, save_table

__all__ = ["ARRAYS", "CASE_CAP", "INDEX", "PACK_INFO", "is_pack", "load_table", "make_pack", "pack_note", "save_table"]


# Loading a pack's recording lives low (spec.packdata); building one is this module's job.
def _public_toml(text: str, keep_cases: set[str], drop_cases: set[str], drop_checks: set[str]) -> str:
    """The assignment.toml of the pack: hidden cases and hook checks removed."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads(text)
    out_lines: list[str] = []
    # Rebuild by blocks: each [cases.X] / [[checks]] block is kept or dropped whole.
    blocks = re.split(r"(?m)^(?=\[)", text)
    check_i = 0
    raw_checks = data.get("checks", [])
    for block in blocks:
        head = block.split("\n", 1)[0].strip()
        m = re.match(r"\[cases\.\"?([^\]\".]+)\"?(\.[a-z]+)?\]", head)
        if m and m.group(1) in drop_cases:
            continue
        if head == "[[checks]]":
            check = raw_checks[check_i]
            check_i += 1
            if check["id"] in drop_checks:
                continue
            cases = [c for c in check.get("cases", []) if c in keep_cases]
            if check.get("cases") and cases != check["cases"]:
                # the list, whatever follows it on the line (a comment) kept
                listed = "cases = " + json.dumps(cases)
                block = re.sub(r"(?m)^cases = \[[^\]]*\]", lambda _, text=listed: text, block)
        out_lines.append(block)
    return "".join(out_lines)


CASE_CAP = 1 << 20  # bytes of recorded inputs of one case a pack ships at most


def _large_cases(assignment: Any, cases: set[str]) -> set[str]:
    """The cases among ``cases`` whose inputs for some function exceed :data:`CASE_CAP`."""
    from gradgrader.checks.base import Course

    course = Course(assignment)
    large: set[str] = set()
    for check in assignment.checks:
        for case in set(check.cases) & cases - large:
            size = sum(_nbytes(v) for v in course.inputs(check.function, case).values())
            if size > CASE_CAP:
                large.add(case)
    return large


def _nbytes(value: Any) -> int:
    from gradgrader.cases import Composite

    if isinstance(value, Composite):
        return sum(_nbytes(v) for v in value.fields.values())
    return int(value.nbytes) if isinstance(value, np.ndarray) else 8


def _write_pack(out: Path, assignment: Any, original: Any, public: set[str], hidden: set[str], large: set[str],
                drop: set[str], course: Any) -> None:
    from gradgrader.rubric import find_rubric, load_rubric
    from gradgrader.spec import ASSIGNMENT_FILE, FEEDBACK_FILE

    out.mkdir(parents=True, exist_ok=True)
    (out / ASSIGNMENT_FILE).write_text(
        _public_toml((assignment.root / ASSIGNMENT_FILE).read_text(encoding="utf-8"), public, hidden | large, drop),
        encoding="utf-8",
    )
    for name in (FEEDBACK_FILE, "starter.py", *assignment.helpers):
        if (assignment.root / name).is_file():
            shutil.copyfile(assignment.root / name, out / name)
        elif (assignment.root / name).is_dir():  # a helper package, e.g. CS231n's past/
            shutil.copytree(assignment.root / name, out / name, ignore=shutil.ignore_patterns("__pycache__"))
    rubric_path = find_rubric(original)
    if rubric_path is not None:
        full = load_rubric(rubric_path, original)
        lines = [f'assignment = "{assignment.name}"', ""]
        for cid, item in full.items.items():
            if cid in drop:
                continue
            lines.append(f'[checks."{cid}"]')
            lines.append(f"points = {item.points!r}")
            if not item.partial:
                lines.append("partial = false")
            if item.feedback:
                lines.append(f"feedback = {json.dumps(item.feedback, ensure_ascii=False)}")
            if item.zero_for:
                lines.append(f"zero_for = {json.dumps(list(item.zero_for))}")
            lines.append("")
        (out / "rubric.toml").write_text("\n".join(lines), encoding="utf-8")
    save_table(course.recording, out)
    left_out = [f"{cid} (runs course code on your answers)" for cid in sorted(drop)]
    if hidden:
        left_out.append(f"the hidden case{'s' if len(hidden) > 1 else ''} of the other checks")
    for name in sorted(large):
        dims = ", ".join(f"{k}={v}" for k, v in original.cases[name].dims.items())
        left_out.append(f"the case {name!r} ({dims}: too large to ship in a pack)")
    from gradgrader.rubric import resolve_rubric

    course_items = resolve_rubric(original).items
    course_max = sum(i.points for i in course_items.values())
    pack_max = sum(i.points for cid, i in course_items.items() if cid not in drop)
    (out / PACK_INFO).write_text(
        json.dumps({"assignment": assignment.name, "course_max_score": course_max, "max_score": pack_max, "left_out": left_out}, indent=2,
                   ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def make_pack(assignment_name: str, out: Path, replace: bool = False) -> Path:
    """Write the student pack of an assignment into ``out`` (a new folder; with
    ``replace``, an earlier pack there is replaced — never any other folder)."""
    from dataclasses import replace as with_fields

    from gradgrader.assignment import load_assignment

    assignment = load_assignment(assignment_name)
    _clear_destination(assignment.root, out, replace)
    hidden = {c.name for c in assignment.cases.values() if not c.public}
    # A public case whose inputs are too large to ship (CS231n's 500×3073 development
    # set: 12 MB of random numbers) stays with the course too, and the pack says so.
    large = _large_cases(assignment, set(assignment.cases) - hidden)
    public = set(assignment.cases) - hidden - large
    drop = {c.id for c in assignment.checks if c.kind == "hook" or (c.cases and not set(c.cases) & public)}
    kept = [with_fields(c, cases=tuple(x for x in c.cases if x in public)) for c in assignment.checks if c.id not in drop]
    original = assignment
    assignment = with_fields(assignment, checks=tuple(kept))  # only what the pack will run
    course = _record(assignment)
    created = not out.exists()
    try:
        _write_pack(out, assignment, original, public, hidden, large, drop, course)
    except BaseException:
        if created:  # no half-written pack left behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    return out


def _clear_destination(root: Path, out: Path, replace: bool) -> None:
    """Refuse to pack a pack or to write into a folder with anything in it; with
    ``replace``, an earlier pack at ``out`` (and only a pack) is removed first."""
    if is_pack(root):
        raise ConfigError(f"{root} is already a student pack")
    if replace and is_pack(out):
        shutil.rmtree(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out}: exists and is not empty" + ("" if replace else " (--replace replaces an earlier pack)"))


def _record(assignment: Any) -> Any:
    """The course of ``assignment`` (its checks already cut to the pack's) with a
    recording of what the pack's checks need: the reference graded with them, plus the
    reference and the diagnosis hooks on every public case of their functions."""
    from gradgrader.checks.base import Course
    from gradgrader.grading import Grader
    from gradgrader.rubric import Rubric, RubricItem
    from gradgrader.spec import variant_hooks
    from gradgrader.submission import Submission

    kept = assignment.checks
    course = Course(assignment)
    course.recording = {}
    rubric = Rubric(assignment.name, {c.id: RubricItem(c.id, 1.0) for c in kept}, "pack recording")
    # Each accepted convention's reference is graded as a submission (it picks its own
    # convention), so what a student of either convention needs is recorded.
    files = [None] if assignment.conventions is None else [o.reference for o in assignment.conventions.options]
    with Grader(assignment, rubric, jobs=1) as grader:
        grader.course = course
        for file in files:
            path = assignment.reference_path if file is None else assignment.root / file
            result = grader.grade(Submission("reference", path, None))
            if result.status != "graded" or result.score != result.max_score:
                raise ConfigError(f"{path}: the reference does not pass its own checks; run `gradgrader validate` first")
    # Checks consult the reference on a case's inputs when the student fails (to tell a
    # wrong loss from a wrong gradient, or a transposed layout): record all of those.
    for file in files:
        for c in kept:
            for case in c.cases:
                course.call_reference(c.function, course.inputs(c.function, case), file)
    for key, config in assignment.diagnosis.items():
        fname = key.partition(".")[0]
        cases = {case for c in kept if c.function == fname for case in c.cases}
        for case in sorted(cases):
            args = course.inputs(fname, case)
            for hook_name in list((config.get("terms") or {}).values()) + [h for _, h in variant_hooks(config)]:
                course.call_hook(hook_name, args, f"diagnosis of {key}")
    return course


def pack_note(root: Path) -> str | None:
    """What a student (or a TA who picked the pack by mistake) should know about grading
    with the pack at ``root``: its scale and what only the course grades."""
    try:
        info = json.loads((root / PACK_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None if not is_pack(root) else "this is a student pack: some checks run only on the course's side"
    left = "; ".join(str(x) for x in info.get("left_out", []))
    scale = ""
    if isinstance(info.get("course_max_score"), (int, float)) and isinstance(info.get("max_score"), (int, float)):
        scale = f"graded out of {info['max_score']:g} here, out of {info['course_max_score']:g} by the course; "
    if not left:
        return f"student pack: {scale}every check of the course runs here too (on the public inputs)"
    return f"student pack: {scale}only the course grades {left}"
