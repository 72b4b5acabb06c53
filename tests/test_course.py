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


def test_a_hook_is_looked_up_without_resolving_its_file_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # A check's first submission looks a hook up for each value it computes (141 times
    # for softmax): resolving and hashing the path each time took ~0.1 ms apiece (#17).
    from gradgrader.course import hook, hooks_module

    assignment = load_assignment("softmax")
    module = hooks_module(assignment)
    resolved: list[Path] = []
    real = Path.resolve

    def counted(self: Path, strict: bool = False) -> Path:
        resolved.append(self)
        return real(self, strict)

    looked: list[Path] = []
    real_is_file = Path.is_file

    def is_file(self: Path) -> bool:
        looked.append(self)
        return real_is_file(self)

    monkeypatch.setattr(Path, "resolve", counted)
    monkeypatch.setattr(Path, "is_file", is_file)
    for _ in range(3):
        assert hooks_module(assignment) is module
        assert hook(assignment, "train_digits", "test") is module.train_digits
    assert resolved == [] and looked == []  # nor a look at the disk (~25 per submission)
