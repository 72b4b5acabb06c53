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
