"""gradgrader/spec/locate.py: find_assignment finds an assignment by shipped name, folder or
assignment.toml path, and says which names it knows."""

from __future__ import annotations

import pytest
from conftest import SOFTMAX, copy_assignment

from gradgrader.assignment import load_assignment
from gradgrader.errors import ConfigError
from gradgrader.spec import find_assignment


def test_find_assignment_by_shipped_name():
    assert find_assignment("softmax") == SOFTMAX


def test_find_assignment_by_folder_path(tmp_path):
    folder = copy_assignment(tmp_path / "my-course-softmax")
    assert find_assignment(str(folder)) == folder.resolve()
    assert load_assignment(folder).root == folder.resolve()


def test_find_assignment_by_path_to_assignment_toml():
    assert find_assignment(str(SOFTMAX / "assignment.toml")) == SOFTMAX


def test_unknown_assignment_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as info:
        find_assignment("softmaxx")
    assert "'softmaxx'" in str(info.value) and "softmax" in str(info.value).replace(
        "'softmaxx'", ""
    )


def test_folder_without_assignment_toml_is_not_an_assignment(tmp_path):
    with pytest.raises(ConfigError, match="assignment.toml"):
        find_assignment(str(tmp_path))


def test_finding_an_assignment_loads_no_model_and_no_toml_parser() -> None:
    """A student's `check` finds the assignment's folders to start its sandbox first
    (#17): that part of gradgrader.spec loads nothing else of it."""
    import ast
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gradgrader.spec.locate import course_folders, find_assignment\n"
        "course_folders(find_assignment('softmax'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('gradgrader.spec') or m in ('tomllib', 'numpy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert ast.literal_eval(out.strip()) == ["gradgrader.spec", "gradgrader.spec.locate"]


def test_every_name_of_the_package_is_there_when_asked_for() -> None:
    import gradgrader.spec as spec
    from gradgrader.spec import models

    assert spec.ASSIGNMENT_FILE == models.ASSIGNMENT_FILE == "assignment.toml"
    for name in spec.__all__:
        assert getattr(spec, name) is not None
    with pytest.raises(AttributeError):
        _ = spec.no_such_name  # type: ignore[attr-defined]
