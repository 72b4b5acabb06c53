"""Imports go one way: down the layers of issue #18, never up, never round in a cycle.

Every module of gradgrader/ is parsed (imports inside functions and under
``TYPE_CHECKING`` count: a deferred import is still a dependency), mapped to its layer,
and every edge is checked. A new module must be given a layer here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import imported_after

PACKAGE = Path(__file__).resolve().parent.parent / "gradgrader"

# Layer of each module, by the longest matching prefix (a package covers its modules).
# L2 is split: ``cases`` may import ``course``, never the other way round.
LAYERS: dict[str, float] = {
    # L0 base
    "gradgrader._version": 0, "gradgrader._lazy": 0, "gradgrader.errors": 0, "gradgrader._toml": 0, "gradgrader._cache": 0, "gradgrader._compiled": 0, "gradgrader._blas": 0,
    "gradgrader.hints": 0,
    # L1 models and parsing
    "gradgrader.spec": 1, "gradgrader.rubric": 1, "gradgrader.submission": 1, "gradgrader.callkey": 1.1,
    # L2 inputs and course code
    "gradgrader.course": 2.0, "gradgrader.cases": 2.1,
    # L3 sandbox: processes and the wire
    "gradgrader.sandbox": 3,
    # L4 checks and diagnosis
    "gradgrader.findings": 4, "gradgrader.checks": 4, "gradgrader.diagnose": 4, "gradgrader.conventions": 4,
    # L5 grading: one submission in, one Result out
    "gradgrader.result": 5, "gradgrader.assignment": 5, "gradgrader.grading": 5, "gradgrader.records": 5,
    "gradgrader.secret": 5, "gradgrader.loading": 5,
    # L6 run folder
    "gradgrader.run": 6, "gradgrader.results": 6, "gradgrader.overrides": 6, "gradgrader.report": 6,
    # L7 front ends
    "gradgrader.cli": 7, "gradgrader.__main__": 7, "gradgrader.tui": 7, "gradgrader.review": 7,
    "gradgrader.render": 7, "gradgrader.export": 7, "gradgrader.ingest": 7, "gradgrader.distributed": 7,
    "gradgrader.authoring": 7, "gradgrader.pack": 7, "gradgrader.similarity": 7,
    # the public API (gradgrader/__init__.py, gradgrader/api.py) may import any layer
    "gradgrader": 8, "gradgrader.api": 8,
}

# Course templates copied by `gradgrader new`: data, not modules of the package.
NOT_MODULES = ("gradgrader.templates",)

# No exceptions: every edge of the package follows the layers (issue 18).
PENDING: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    return {m: p for m, p in found.items() if not m.startswith(NOT_MODULES)}


def layer(module: str) -> float:
    # "gradgrader" is the package's own __init__ only: a new module must be given a layer
    best = max((p for p in LAYERS if module == p or (p != "gradgrader" and module.startswith(p + "."))), key=len, default=None)
    if best is None:
        raise AssertionError(f"{module} has no layer: add it to LAYERS in tests/test_layers.py")
    return LAYERS[best]


def _typing_only(tree: ast.AST) -> set[int]:
    """The import nodes under ``if TYPE_CHECKING:``: read by the type checker, never run."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def imports(module: str, path: Path, known: set[str], typing: bool = True) -> Iterator[str]:
    """The gradgrader modules ``module`` imports, anywhere in its source (with ``typing``
    false, leaving out the imports under ``if TYPE_CHECKING:``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def resolve(name: str) -> str:
        while name not in known and "." in name:
            name = name.rpartition(".")[0]
        return name

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if typing else _typing_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (resolve(a.name) for a in node.names if a.name.split(".")[0] == "gradgrader")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "gradgrader":
                continue
            for alias in node.names:  # `from gradgrader.checks import custom` imports a module
                sub = f"{source}.{alias.name}"
                yield sub if sub in known else resolve(source)


def graph(typing: bool = True) -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {m: {t for t in imports(m, p, known, typing) if t != m} for m, p in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def kept(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    return {m: {t for t in ts if (m, t) not in PENDING} for m, ts in edges.items()}


def test_every_module_has_a_layer() -> None:
    for m in modules():
        layer(m)


def test_no_import_goes_up_a_layer() -> None:
    edges = kept(graph())
    up = sorted(f"{m} (L{layer(m):g}) imports {t} (L{layer(t):g})" for m, ts in edges.items() for t in ts if layer(t) > layer(m))
    assert not up, "imports that go up a layer:\n" + "\n".join(up)


def test_the_sandbox_imports_no_inputs_nor_course_code() -> None:
    """The sandbox moves plain values: it never reaches up to how inputs are made."""
    edges = graph()
    up = sorted(f"{m} -> {t}" for m, ts in edges.items() if m.startswith("gradgrader.sandbox")
                for t in ts if t.startswith(("gradgrader.cases", "gradgrader.course")))
    assert not up, up


def test_the_sandbox_encodes_its_own_value_types() -> None:
    """No sandbox module imports ``spec``: a course object is told by its attributes
    (``sandbox.encode.CourseObject``), not by the spec's class."""
    edges = graph()
    assert "gradgrader.sandbox.encode" in edges
    up = sorted(f"{m} -> {t}" for m, ts in edges.items() if m.startswith("gradgrader.sandbox")
                for t in ts if t.startswith("gradgrader.spec"))
    assert not up, up
    code = "import gradgrader.sandbox.session, sys; print(sorted(m for m in sys.modules if m.startswith('gradgrader.spec')))"
    assert ast.literal_eval(run(code).strip()) == []  # nor through callkey, its one L1 import


def test_no_import_cycle() -> None:
    # Every import counts for the layers (above), type-checking ones too; a cycle is one
    # the interpreter would run: the TUI's screens name the app they run on in their type
    # annotations (``if TYPE_CHECKING: from gradgrader.tui.app import ReviewApp``).
    found = cycles(kept(graph(typing=False)))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_pending_edges_still_exist() -> None:
    """An exception that is no longer needed is removed, not kept 'just in case'."""
    edges = graph()
    stale = sorted(f"{m} -> {t}" for m, t in PENDING if t not in edges.get(m, set()))
    assert not stale, "PENDING lists edges that no longer exist: " + ", ".join(stale)


def test_the_checker_sees_deferred_imports(tmp_path: Path) -> None:
    source = tmp_path / "gradgrader" / "spec" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from gradgrader.checks import validate_check\n    import gradgrader.pack as p\n")
    (tmp_path / "gradgrader" / "spec" / "__init__.py").write_text("from . import x\n")
    known = {"gradgrader.spec", "gradgrader.spec.x", "gradgrader.checks", "gradgrader.pack"}
    assert set(imports("gradgrader.spec.x", source, known)) == {"gradgrader.checks", "gradgrader.pack"}
    assert set(imports("gradgrader.spec", tmp_path / "gradgrader" / "spec" / "__init__.py", known)) == {"gradgrader.spec.x"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_course_never_imports_cases() -> None:
    assert layer("gradgrader.cases") > layer("gradgrader.course")
    assert "gradgrader.cases" not in graph()["gradgrader.course"]


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_grading_loads_no_front_end() -> None:
    code = "import gradgrader.grading, sys; print(sorted(m for m in sys.modules if m.startswith('gradgrader')))"
    loaded = ast.literal_eval(run(code).strip())
    front = [m for m in loaded if m.startswith(("gradgrader.ingest", "gradgrader.export", "gradgrader.tui", "gradgrader.cli"))]
    assert not front, f"importing gradgrader.grading loads {front}"
    assert "gradgrader.grading" in loaded


@pytest.mark.parametrize("first", ["engine", "all"])
def test_each_module_imports_first(first: str) -> None:
    """Any module may be the first one imported (no half-initialised module in a cycle
    through a package's __init__). Each is imported alone, in order, in one process."""
    names = sorted(m for m in modules() if not m.endswith("__main__") and ".stubs" not in m)
    if first == "engine":
        names = [m for m in names if layer(m) <= 5]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for m in [m for m in sys.modules if m == 'gradgrader' or m.startswith('gradgrader.')]:\n"
        "        del sys.modules[m]\n"
        "    importlib.import_module(name)\n"
        "print('ok')\n"
    )
    assert run(code).strip() == "ok"


def test_checks_reach_the_student_only_through_the_caller_protocol() -> None:
    """Checks and diagnosis (L4) never import the sandbox: a fake caller tests them."""
    edges = graph()
    l4 = [m for m in edges if layer(m) == 4]
    assert "gradgrader.checks.caller" in l4
    leaks = sorted(f"{m} -> {t}" for m in l4 for t in edges[m] if t.startswith("gradgrader.sandbox"))
    assert not leaks, leaks


def test_the_checker_sees_a_cycle_and_tells_type_only_imports_apart() -> None:
    """The rules above are only as good as the graph: a two-module cycle is found, and
    only the imports under ``if TYPE_CHECKING:`` are left out of the run-time graph."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import gradgrader.errors\n"
        "if TYPE_CHECKING:\n"
        "    from gradgrader.cli import app\n"
    )
    skipped = [n for n in ast.walk(tree) if id(n) in _typing_only(tree) and isinstance(n, ast.ImportFrom)]
    assert [n.module for n in skipped] == ["gradgrader.cli"]


ENGINE = ["gradgrader.spec", "gradgrader.cases", "gradgrader.checks", "gradgrader.diagnose",
          "gradgrader.grading", "gradgrader.results", "gradgrader.rubric", "gradgrader.sandbox"]


def test_the_engine_imports_no_front_end() -> None:
    loaded = imported_after(ENGINE)
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)
    assert not any(m.startswith(("gradgrader.cli", "gradgrader.tui", "gradgrader.render", "typer")) for m in loaded)
