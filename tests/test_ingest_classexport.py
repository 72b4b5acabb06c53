"""gradgrader/ingest/classexport.py: open_class reads a class export (zip or folder, Canvas, Moodle, Gradescope or plain) into submissions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import GOOD, by_id, student, write_zip
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.ingest import ZipLimits, discover, open_class


def test_a_damaged_zip_is_called_damaged(tmp_path: Path) -> None:
    bad = tmp_path / "submissions.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 20)  # the start of a zip, cut off
    result = CliRunner().invoke(app, ["grade", str(bad), "-a", "softmax", "-o", str(tmp_path / "out"), "--allow-weak-sandbox"])
    assert result.exit_code == 2 and "cannot be read (damaged or not fully downloaded?)" in result.stderr


def test_a_skipped_zip_entrys_name_reaches_the_terminal_escaped(tmp_path):
    root = tmp_path / "canvas"
    root.mkdir()
    write_zip(root / "alice_1_10_work.zip", {"../\x1b]0;pwned\x07\x1b[2J.py": b"x", "softmax.py": GOOD.encode()})
    (root / "bob_2_20_softmax.py").write_text(GOOD)
    cls = open_class(root, "softmax.py", tmp_path / "work")
    assert cls.skipped
    for s in cls.skipped:
        assert "\x1b" not in s.name + s.reason and "\x07" not in s.name + s.reason
    assert any("\\x1b" in s.name for s in cls.skipped)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_beside_a_notebook_is_skipped_and_reported(tmp_path):
    cls = tmp_path / "class"
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": GOOD}]}
    folder = student(cls, "mallory", json.dumps(nb), "softmax.ipynb")
    os.mkfifo(folder / "pipe")
    student(cls, "alice")
    export = open_class(cls, "softmax.py", tmp_path / "work")
    subs = by_id(export.submissions)
    assert subs["alice"].path is not None and subs["mallory"].path is not None
    assert not (subs["mallory"].path.parent / "pipe").exists()
    assert any(s.name == "mallory: pipe" and "FIFO" in s.reason for s in export.skipped)


def test_caps_hold_per_student_across_all_their_archives(tmp_path):
    root = tmp_path / "moodle"
    root.mkdir()
    chunk = b"\0" * 40_000  # compresses well, but under ratio_floor: not a "zip bomb" alone
    for i in range(3):
        write_zip(root / f"Mal Lory_12_assignsubmission_file_part{i}.zip", {f"data{i}.bin": chunk})
    (root / "Mal Lory_12_assignsubmission_file_softmax.py").write_text(GOOD)
    (root / "Ann Bee_3_assignsubmission_file_softmax.py").write_text(GOOD)
    write_zip(root / "Ann Bee_3_assignsubmission_file_small.zip", {"a.txt": b"x" * 100})
    limits = ZipLimits(student_bytes=100_000, student_files=50)  # each zip alone fits
    cls = open_class(root, "softmax.py", tmp_path / "work", limits)
    subs = by_id(cls.submissions)
    assert subs["Ann Bee_3"].path is not None and (subs["Ann Bee_3"].folder / "small" / "a.txt").exists()
    assert subs["Mal Lory_12"].path is None and "per-student cap" in subs["Mal Lory_12"].problem
    written = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert written < 2 * limits.student_bytes  # nothing of the over-cap student stays


def test_the_results_folder_inside_the_class_is_never_a_student(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    out = cls / "out"
    out.mkdir()
    (out / "stray.py").write_text(GOOD)  # before any result exists: excluded by name
    assert [s.id for s in open_class(cls, "softmax.py", out / ".extracted", exclude=(out,)).submissions] == ["alice"]
    (out / "run.json").write_text("{}")
    (out / "results.jsonl").write_text("")
    # later (--resume, or another OUT): recognised by what gradgrader wrote into it
    assert [s.id for s in discover(cls, "softmax.py", tmp_path / "cache")] == ["alice"]
