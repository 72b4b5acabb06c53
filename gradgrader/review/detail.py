"""One submission in detail: its checks by function, and its source with the failing
functions marked."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gradgrader.result import CheckRecord, Result, as_result
from gradgrader.review.folder import ResultJSON
from gradgrader.run import RunSettings


def checks_by_function(r: Result) -> dict[str, list[CheckRecord]]:
    """The result's checks grouped by the function they grade, in the order they ran."""
    groups: dict[str, list[CheckRecord]] = {}
    for c in r.checks:
        groups.setdefault(c.function or "?", []).append(c)
    return groups


def failing_functions(r: Result) -> list[str]:
    return [fn for fn, checks in checks_by_function(r).items() if any(not c.passed for c in checks)]


def function_lines(source: str, name: str) -> tuple[int, int] | None:
    """The first and last line (1-based) of the definition of function ``name`` in
    ``source``, decorators included; the top-level one if several exist. ``None`` when
    the source does not parse or has no such function."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: list[tuple[int, Any]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            depth = 0 if node in tree.body else 1
            found.append((depth, node))
    if not found:
        return None
    node = min(found, key=lambda dn: (dn[0], dn[1].lineno))[1]
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno or node.lineno


def highlight_lines(source: str, functions: Iterable[str]) -> set[int]:
    """Every line of the definitions of ``functions`` in ``source``."""
    lines: set[int] = set()
    for fn in functions:
        span = function_lines(source, fn)
        if span:
            lines.update(range(span[0], span[1] + 1))
    return lines


def source_path(r: Result | ResultJSON, run: dict[str, Any] | None = None) -> Path | None:
    """The student's file: the recorded path when it still exists (a relative path is
    relative to where ``grade`` ran, usually here), else the same file under the run's
    class folder (``class_folder/ID/…`` or ``class_folder/ID.py``)."""
    r = as_result(r)
    recorded = Path(r.path)
    if recorded.name and recorded.is_file():
        return recorded
    folder = RunSettings.from_json(run or {}).class_folder
    sid = r.submission
    if not (folder and sid and recorded.name):
        return None
    parts = recorded.parts
    inside = parts[parts.index(sid) + 1 :] if sid in parts else (recorded.name,)
    for candidate in (
        Path(folder, sid, *inside),
        Path(folder, sid, recorded.name),
        Path(folder, f"{sid}.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def read_source(
    r: Result | ResultJSON, run: dict[str, Any] | None = None, limit: int = 1 << 20
) -> tuple[Path | None, str | None]:
    """The student's file and its text (undecodable bytes replaced, at most ``limit`` bytes)."""
    path = source_path(r, run)
    if path is None:
        return None, None
    try:
        with path.open("rb") as f:
            data = f.read(limit)
    except OSError:
        return path, None
    return path, data.decode("utf-8", errors="replace")
