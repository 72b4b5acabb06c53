"""gradgrader/submission/notebook.py: reading a Jupyter notebook as a submission (read_notebook, the code cells, what is refused and why)."""

from __future__ import annotations

from conftest import by_id, student

from gradgrader.ingest import discover


def test_a_notebook_nested_200000_deep_is_that_students_error_only(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    deep = '{"nbformat": 4, "cells": ' + "[" * 200_000 + "]" * 200_000 + "}"
    student(cls, "mallory", deep, "softmax.ipynb")
    subs = by_id(discover(cls, "softmax.py", tmp_path / "cache"))
    assert subs["alice"].path is not None
    assert subs["mallory"].path is None and "nested too deeply" in subs["mallory"].problem
