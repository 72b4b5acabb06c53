"""gradgrader/submission/notebook.py (ingest.notebook re-exports it): notebooks become the
module of their code cells; IPython-only lines go; messages about the module's lines come
back as the notebook's cells and lines; a notebook nested too deeply is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import by_id, student

from gradgrader.ingest import Submission, discover, single
from gradgrader.ingest.notebook import convert, notebook_module


def code(source: str | list[str]) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": source,
    }


def markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def write_notebook(path: Path, cells: list[dict], nbformat: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": nbformat, "nbformat_minor": 5})
    )
    return path


def test_code_cells_in_order_become_the_module():
    nb = convert(
        [markdown("# title"), code("a = 1\n"), markdown("text"), code(["b = a + 1\n", "c = b"])],
        "hw.ipynb",
    )
    ns: dict = {}
    exec(nb.source, ns)
    assert (ns["a"], ns["b"], ns["c"]) == (1, 2, 2)


def test_magics_and_shell_escapes_are_removed():
    cells = [
        code(
            "%matplotlib inline\nimport math\n!pip install numpy\nfiles = !ls\nmath.sqrt?\nx = %timeit 1\ny = 2\n"
        ),
        code("%%time\nraise SystemExit('a cell magic cell is left out whole')\n"),
        code("for i in range(2):\n    %time y += i\n"),
    ]
    nb = convert(cells, "hw.ipynb")
    ns: dict = {}
    exec(nb.source, ns)
    assert ns["y"] == 2  # the for loop kept a body ("pass") and ran
    assert nb.skipped_cells == (2,)
    assert [(c, line) for c, line, _ in nb.removed] == [
        (1, 1),
        (1, 3),
        (1, 4),
        (1, 5),
        (1, 6),
        (2, 1),
        (3, 2),
    ]
    assert "!pip" not in "\n".join(line.split("#")[0] for line in nb.source.splitlines())


def test_percent_continuing_an_expression_is_modulo_not_a_magic():
    nb = convert([code("x = (7\n     % 4)\ns = '''\n%not a magic\n'''\n")], "hw.ipynb")
    ns: dict = {}
    exec(nb.source, ns)
    assert ns["x"] == 3 and "%not a magic" in ns["s"]
    assert nb.removed == ()


def test_locate_maps_generated_lines_back_to_cells():
    cells = [
        markdown("intro"),
        code("import math\n"),
        markdown("more"),
        code("%matplotlib inline\nx = 1\ny = 2\n"),
    ]
    nb = convert(cells, "hw.ipynb")
    lines = nb.source.splitlines()
    y_line = next(i for i, text in enumerate(lines, start=1) if text.strip() == "y = 2")
    assert nb.locate(y_line) == (4, 3)  # fourth cell (markdown counts), third line
    assert nb.locate(1) is None  # gradgrader's header
    assert nb.locate(len(lines) + 5) is None


def test_relocate_rewrites_line_numbers_and_file_name_once():
    nb = convert(
        [markdown("m"), code("a = 1\n"), code("b = 2\ndef f(x)\n    pass\n")],
        "hw.ipynb",
        "softmax.py",
    )
    bad = next(i for i, t in enumerate(nb.source.splitlines(), start=1) if t.lstrip().startswith("def f"))
    message = f"softmax.py has a syntax error on line {bad}: def f(x) (expected ':' (softmax.py, line {bad}))"
    fixed = nb.relocate(message)
    assert (
        fixed
        == "hw.ipynb has a syntax error in cell 3, line 2: def f(x) (expected ':' (hw.ipynb, cell 3, line 2))"
    )
    assert nb.relocate(fixed) == fixed


def test_python_file_is_left_alone(tmp_path):
    sub = Submission("s", tmp_path / "softmax.py", None)
    assert sub.relocate_text("line 3") == "line 3" and sub.locate(3) is None


def test_notebook_path_is_converted_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nb = write_notebook(
        tmp_path / "alice" / "softmax.ipynb",
        [code("%load_ext autoreload\nimport helper\nz = helper.k\n")],
    )
    (tmp_path / "alice" / "helper.py").write_text("k = 3\n")
    sub = single(tmp_path / "alice", "softmax.py")
    assert sub.id == "alice" and sub.notebook is not None
    assert (
        sub.path is not None
        and sub.path.name == "softmax.py"
        and sub.path.is_relative_to(tmp_path / "cache")
    )
    assert sub.folder is not None and (sub.folder / "helper.py").is_file()  # helpers still import
    assert sub.extra["notebook"] == str(nb)
    assert not (tmp_path / "alice" / "softmax.py").exists()  # the student's folder is never written


def test_unreadable_notebook_is_a_problem_not_a_crash(tmp_path):
    broken = tmp_path / "bob.ipynb"
    broken.write_text("{not json")
    sub = single(broken, "softmax.py", cache=tmp_path / "cache")
    assert sub.path is None and "not a readable Jupyter notebook" in sub.problem
    old = write_notebook(tmp_path / "old.ipynb", [], nbformat=3)
    assert "nbformat 4" in single(old, "softmax.py", cache=tmp_path / "cache").problem


def test_notebook_module_reads_list_and_string_sources(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", [code(["x = 1\n", "y = 2"]), code("z = 3")])
    nb = notebook_module(path, "softmax.py")
    assert nb.notebook == "n.ipynb" and nb.generated_name == "softmax.py"
    # each cell's lines sit in a try block (one space in), so a failing cell is skipped
    assert [line.strip() for line in nb.source.splitlines() if line.startswith(" ") and "gradgrader" not in line] == [
        "x = 1",
        "y = 2",
        "pass",
        "z = 3",
        "pass",
    ]


def test_an_old_notebook_says_its_format_and_what_to_do(tmp_path):
    import json as _json

    from gradgrader.errors import SubmissionError
    from gradgrader.ingest.notebook import read_notebook

    old = tmp_path / "softmax.ipynb"
    old.write_text(_json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}], "metadata": {}}))
    with pytest.raises(SubmissionError, match="format 3; only nbformat 4 .* save it again"):
        read_notebook(old)


def test_a_failing_last_cell_is_skipped_and_named_the_functions_are_graded(tmp_path):
    """Issue 19: a scratch cell `undefined_name + 1` at the end no longer makes the whole
    notebook fail to import: the correct softmax defined before it gets full marks and
    the skipped cell is named (cell number and first line) in what check shows."""
    import subprocess
    import sys

    from conftest import sample_path

    good = (sample_path("correct-vectorized") / "softmax.py").read_text()
    path = write_notebook(
        tmp_path / "hw" / "softmax.ipynb",
        [markdown("# Homework"), code(good), code("undefined_name + 1\nprint('never')\n")],
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gradgrader", "check", str(path), "-a", "softmax", "--json"],
        capture_output=True, text=True, check=False,
    )
    result = json.loads(proc.stdout)
    assert result["status"] == "graded" and result["score"] == result["max_score"] == 10, result
    assert "cell 3 (undefined_name + 1) failed and was skipped" in result["output"]
    shown = subprocess.run(
        [sys.executable, "-m", "gradgrader", "check", str(path), "-a", "softmax"],
        capture_output=True, text=True, check=False,
    )
    assert "cell 3 (undefined_name + 1) failed and was skipped" in shown.stdout


def test_a_notebook_nested_200000_deep_is_that_students_error_only(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    deep = '{"nbformat": 4, "cells": ' + "[" * 200_000 + "]" * 200_000 + "}"
    student(cls, "mallory", deep, "softmax.ipynb")
    subs = by_id(discover(cls, "softmax.py", tmp_path / "cache"))
    assert subs["alice"].path is not None
    assert subs["mallory"].path is None and "nested too deeply" in subs["mallory"].problem
