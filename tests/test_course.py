"""gradgrader/course.py: the course's reference module and hooks, loaded with messages that
name the course author's own file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SOFTMAX_SAMPLES

from gradgrader.assignment import load_assignment


@pytest.mark.parametrize(
    "bad, where",
    [("def broken(:\n", "line 1"), ("import numpy as np\n\nx = 1 / 0\n", "(line 3)")],
    ids=["syntax-error", "exception"],
)
def test_a_reference_that_fails_to_import_names_its_own_line(tmp_path: Path, bad: str, where: str) -> None:
    from gradgrader.course import reference_module
    from gradgrader.errors import ConfigError

    course = tmp_path / "course"
    shutil.copytree(SOFTMAX_SAMPLES.parent, course, ignore=shutil.ignore_patterns("samples"))
    (course / "reference.py").write_text(bad)
    with pytest.raises(ConfigError) as info:
        reference_module(load_assignment(course))
    assert where in str(info.value) and "importlib" not in str(info.value)
