"""gradgrader/ingest/folders.py: a class folder, one folder or file per student, and which file
of a folder is graded."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import SOFTMAX_SAMPLES, by_id, student
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.ingest import ZipLimits, discover, pick_file
from gradgrader.ingest._walk import MAX_DEPTH


def test_a_file_uploaded_with_an_upper_case_extension_is_graded(tmp_path: Path) -> None:
    (tmp_path / "class" / "yan").mkdir(parents=True)
    shutil.copyfile(SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py", tmp_path / "class" / "yan" / "Softmax.PY")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(out), "--skip-validation", "--allow-weak-sandbox"]
    )
    assert result.exit_code == 0, result.output
    assert "yan,10,10,graded," in (out / "grades.csv").read_text()


def nest(top: Path, depth: int) -> None:
    """``top/d/d/…/d/x.py``, ``depth`` folders deep, made without long paths."""
    here = os.getcwd()
    try:
        os.chdir(top)
        for _ in range(depth):
            os.mkdir("d")
            os.chdir("d")
        Path("x.py").write_text("", encoding="utf-8")
    finally:
        os.chdir(here)


def unnest(top: Path) -> None:
    """Remove what :func:`nest` made, deepest first (pytest's own clean-up recurses)."""
    here = os.getcwd()
    try:
        os.chdir(top)
        depth = 0
        while os.path.isdir("d"):
            os.chdir("d")
            depth += 1
        for _ in range(depth):
            for name in os.listdir("."):
                os.unlink(name)
            os.chdir("..")
            os.rmdir("d")
    finally:
        os.chdir(here)


def test_a_folder_nested_1200_deep_is_that_students_error_only(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    nest(student(cls, "mallory"), 1200)  # softmax.py at the top: picked without a walk
    nest(student(cls, "trudy", filename="softmax.ipynb", source=json.dumps({"nbformat": 4, "cells": []})), 1200)
    try:
        subs = by_id(discover(cls, "softmax.py", tmp_path / "cache"))
    finally:
        unnest(cls / "mallory")
        unnest(cls / "trudy")
    assert subs["alice"].path == cls / "alice" / "softmax.py" and not subs["alice"].problem
    for sid in ("mallory", "trudy"):
        assert subs[sid].path is None
        assert f"nested more than {MAX_DEPTH} deep" in subs[sid].problem


def test_file_count_cap_is_per_student_in_a_plain_folder(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    many = student(cls, "mallory")
    for i in range(30):
        (many / f"f{i}.txt").write_text("")
    subs = by_id(discover(cls, "softmax.py", tmp_path / "cache", limits=ZipLimits(student_files=20)))
    assert subs["alice"].path is not None
    assert subs["mallory"].path is None and "more than 20 files" in subs["mallory"].problem


def test_check_of_a_students_own_folder_is_not_held_to_the_class_caps(tmp_path, monkeypatch):
    from gradgrader.ingest import limits, single

    folder = student(tmp_path, "mine")
    for i in range(12):
        (folder / f"data{i}.txt").write_text("")
    # class caps of 10 files by default: a class folder is held to them, `check` is not
    monkeypatch.setattr(limits, "ZipLimits", lambda **kw: ZipLimits(**{"student_files": 10, **kw}))
    assert discover(tmp_path, "softmax.py", tmp_path / "cache")[0].path is None
    assert single(folder, "softmax.py").path == folder / "softmax.py"


@pytest.mark.parametrize(
    ("files", "picked", "problem"),
    [
        (["softmax.py", "helpers.py"], "softmax.py", ""),
        (["softmax.ipynb", "helpers.py"], "softmax.ipynb", ""),
        (["softmax.py", "softmax.ipynb"], "softmax.py", ""),
        (["work/hw3.ipynb"], "work/hw3.ipynb", ""),
        (["a.py", "b.ipynb"], None, "several .py files or notebooks (a.py, b.ipynb)"),
        (["notes.txt"], None, "no softmax.py"),
        (["solution.py", ".ipynb_checkpoints/solution-checkpoint.ipynb"], "solution.py", ""),
    ],
)
def test_pick_file_takes_the_named_file_else_the_only_one_else_says_why(
    tmp_path, files, picked, problem
):
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    path, why = pick_file(tmp_path, "softmax.py")
    assert (str(path.relative_to(tmp_path)) if path else None) == picked
    assert problem in why and (why == "") == (picked is not None)
