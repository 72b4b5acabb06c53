"""Hostile names, archives and folder shapes at ingest (#16): whatever one submission (or
its name, or its archive) holds, the class opens, that one student gets an error result
with a reason, and every other student's submission is what it would be alone. Every
attack is built here, in tmp_path."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from gradgrader.export.feedback import write_feedback
from gradgrader.export.gradebook import canvas_csv, moodle_csv, plain_csv
from gradgrader.ingest import ZipLimits, discover, open_class, safe_extract
from gradgrader.ingest import canvas as canvas_reader
from gradgrader.ingest._walk import MAX_DEPTH
from gradgrader.ingest.submission import Submission, distinct_ids

GOOD = "def softmax(Z):\n    return Z\n"


def student(root: Path, name: str, source: str = GOOD, filename: str = "softmax.py") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / filename).write_text(source, encoding="utf-8")
    return folder


def by_id(subs: list[Submission]) -> dict[str, Submission]:
    return {s.id: s for s in subs}


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


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


# --- 1. recursion on input ----------------------------------------------------------------


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


def test_a_notebook_nested_200000_deep_is_that_students_error_only(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    deep = '{"nbformat": 4, "cells": ' + "[" * 200_000 + "]" * 200_000 + "}"
    student(cls, "mallory", deep, "softmax.ipynb")
    subs = by_id(discover(cls, "softmax.py", tmp_path / "cache"))
    assert subs["alice"].path is not None
    assert subs["mallory"].path is None and "nested too deeply" in subs["mallory"].problem


# --- 2. LMS name parsing --------------------------------------------------------------------


def test_moodle_file_named_like_another_participants_prefix_stays_with_its_uploader(tmp_path):
    root = tmp_path / "moodle"
    root.mkdir()
    (root / "Victim Person_7_assignsubmission_file_softmax.py").write_text("# victim\n" + GOOD)
    (root / "Mal Lory_12_assignsubmission_file_x_7_assignsubmission_file_softmax.py").write_text("# attacker\n")
    (root / "Mal Lory_12_assignsubmission_file_softmax.py").write_text("# mallory\n" + GOOD)
    cls = open_class(root, "softmax.py", tmp_path / "work")
    assert cls.kind == "moodle"
    subs = by_id(cls.submissions)
    victim = subs["Victim Person_7"]
    assert victim.path is not None and victim.path.read_text().startswith("# victim")
    assert sorted(p.name for p in victim.folder.iterdir()) == ["softmax.py"]
    mallory = subs["Mal Lory_12"]
    assert (mallory.folder / "x_7_assignsubmission_file_softmax.py").read_text() == "# attacker\n"


def test_moodle_two_entries_claiming_one_place_is_reported_never_overwritten(tmp_path):
    root = tmp_path / "moodle"
    (root / "Ann Bee_3_assignsubmission_file_").mkdir(parents=True)
    (root / "Ann Bee_3_assignsubmission_file_" / "softmax.py").write_text("# first\n" + GOOD)
    (root / "Ann Bee_3_assignsubmission_onlinetext_softmax.py").write_text("# second\n")
    (root / "Cy Dee_4_assignsubmission_file_softmax.py").write_text(GOOD)
    cls = open_class(root, "softmax.py", tmp_path / "work")
    ann = by_id(cls.submissions)["Ann Bee_3"]
    assert ann.path is not None and ann.path.read_text().startswith("# first")
    assert any("also claims softmax.py" in s.reason for s in cls.skipped)


def test_canvas_name_parsing_takes_the_first_prefix(tmp_path):
    parsed = canvas_reader.parse_name("mallory_12_34_victim_7_99_softmax.py")
    assert parsed is not None and (parsed.login, parsed.user_id, parsed.original) == (
        "mallory", "12", "victim_7_99_softmax.py"
    )


def test_canvas_a_failure_while_picking_one_students_file_is_that_students_error(tmp_path, monkeypatch):
    root = tmp_path / "canvas"
    root.mkdir()
    (root / "alice_1_10_softmax.py").write_text(GOOD)
    (root / "mallory_2_20_softmax.py").write_text(GOOD)
    real = canvas_reader.pick_file

    def pick(folder: Path, filename: str):
        if folder.name == "mallory":
            raise RuntimeError("injected")
        return real(folder, filename)

    monkeypatch.setattr(canvas_reader, "pick_file", pick)
    subs = by_id(open_class(root, "softmax.py", tmp_path / "work").submissions)
    assert subs["alice"].path is not None
    assert subs["mallory"].path is None and "injected" in subs["mallory"].problem


# --- 3. names reaching other tools -----------------------------------------------------------


@pytest.mark.parametrize("name", ["=HYPERLINK(\"x\")", "@SUM(A1)", "+1+1", "-2+3", "\tx", "\rx"])
def test_every_gradebook_form_neutralises_formula_names(name):
    rows = [
        {"submission": name, "score": 5.0, "max_score": 10.0, "status": "graded", "mistakes": [],
         "lms": {"kind": "moodle", "name": name, "participant": "3"}},
        {"submission": "-5", "score": -1.5, "max_score": 10.0, "status": "graded", "mistakes": []},
    ]
    for text in (canvas_csv(rows, "HW"), moodle_csv(rows), plain_csv(rows)):
        for row in csv.reader(io.StringIO(text, newline="")):
            for cell in row:
                assert cell[:1] not in {"=", "@", "+", "\t", "\r"}, (cell, text)
                assert not cell.startswith("-") or cell in {"-5", "-1.5"}, cell  # numbers stay numbers


def test_a_skipped_zip_entrys_name_reaches_the_terminal_escaped(tmp_path):
    root = tmp_path / "canvas"
    root.mkdir()
    make_zip(root / "alice_1_10_work.zip", {"../\x1b]0;pwned\x07\x1b[2J.py": b"x", "softmax.py": GOOD.encode()})
    (root / "bob_2_20_softmax.py").write_text(GOOD)
    cls = open_class(root, "softmax.py", tmp_path / "work")
    assert cls.skipped
    for s in cls.skipped:
        assert "\x1b" not in s.name + s.reason and "\x07" not in s.name + s.reason
    assert any("\\x1b" in s.name for s in cls.skipped)


def test_a_leading_space_does_not_take_alices_id(tmp_path):
    cls = tmp_path / "class"
    student(cls, " alice", "# impostor\n" + GOOD)
    student(cls, "alice")
    subs = discover(cls, "softmax.py", tmp_path / "cache")
    ids = [s.id for s in subs]
    assert "alice" in ids and len(set(ids)) == 2
    assert by_id(subs)["alice"].path == cls / "alice" / "softmax.py"
    other = next(i for i in ids if i != "alice")
    assert other.startswith("alice~") and " " not in other


def test_the_real_alice_gets_alice_md(tmp_path):
    cls = tmp_path / "class"
    student(cls, " alice")
    student(cls, "alice")
    subs = discover(cls, "softmax.py", tmp_path / "cache")
    rows = [{"submission": s.id, "score": 1.0, "max_score": 1.0, "status": "graded", "checks": [],
             "mistakes": [], "path": str(s.path)} for s in reversed(subs)]
    files = write_feedback(tmp_path / "feedback", rows)
    assert sorted(p.name for p in files)[0] == "alice.md"
    assert len(files) == 2 and not any(p.name == "alice-2.md" for p in files)


def test_gradescope_warnings_reach_the_terminal_escaped(tmp_path):
    root = tmp_path / "gs"
    (root / "submission_1").mkdir(parents=True)
    (root / "submission_1" / "softmax.py").write_text(GOOD)
    (root / "submission_metadata.yml").write_text(
        'submission_1:\n  :submitters: []\n"submission_\\e[2J\\a":\n  :submitters: []\n'
    )
    warnings = open_class(root, "softmax.py", tmp_path / "work").warnings
    assert warnings and all("\x1b" not in w and "\x07" not in w for w in warnings)
    assert any("\\x1b[2J" in w for w in warnings)  # shown, escaped


def test_names_equal_once_cleaned_get_distinct_stable_ids_and_the_class_is_graded(tmp_path):
    cls = tmp_path / "class"
    student(cls, "bob")
    student(cls, "bob\x07")
    student(cls, "bob\u202e")
    subs = discover(cls, "softmax.py", tmp_path / "cache")
    ids = [s.id for s in subs]
    assert len(set(ids)) == 3 and "bob" in ids
    assert by_id(subs)["bob"].path == cls / "bob" / "softmax.py"
    # stable: the same ids whatever order the folders come in
    assert sorted(s.id for s in distinct_ids(list(reversed([Submission(s.raw_id, s.path) for s in subs])))) == sorted(ids)


# --- 4. archive and folder shapes ------------------------------------------------------------


def test_a_zip_with_a_file_and_a_folder_of_one_name_is_read(tmp_path):
    z = tmp_path / "canvas.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("alice_1_10_softmax.py", GOOD)
        zf.writestr("notes", b"a file")
        zf.writestr("notes/", b"")
        zf.writestr("notes/inside.txt", b"x")
        zf.writestr("bob_2_20_softmax.py", GOOD)
    cls = open_class(z, "softmax.py", tmp_path / "work")
    assert cls.kind == "canvas"
    assert all(s.path is not None for s in cls.submissions) and len(cls.submissions) == 2
    assert any(s.name.startswith("notes/") for s in cls.skipped)


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


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_moodle_download_is_skipped(tmp_path):
    root = tmp_path / "moodle"
    (root / "Ann Bee_3_assignsubmission_file_").mkdir(parents=True)
    (root / "Ann Bee_3_assignsubmission_file_" / "softmax.py").write_text(GOOD)
    os.mkfifo(root / "Ann Bee_3_assignsubmission_file_" / "pipe")
    os.mkfifo(root / "Cy Dee_4_assignsubmission_file_pipe")
    (root / "Cy Dee_4_assignsubmission_file_softmax.py").write_text(GOOD)
    cls = open_class(root, "softmax.py", tmp_path / "work")
    assert all(s.path is not None for s in cls.submissions) and len(cls.submissions) == 2
    assert sum("FIFO" in s.reason for s in cls.skipped) == 2


def test_caps_hold_per_student_across_all_their_archives(tmp_path):
    root = tmp_path / "moodle"
    root.mkdir()
    chunk = b"\0" * 40_000  # compresses well, but under ratio_floor: not a "zip bomb" alone
    for i in range(3):
        make_zip(root / f"Mal Lory_12_assignsubmission_file_part{i}.zip", {f"data{i}.bin": chunk})
    (root / "Mal Lory_12_assignsubmission_file_softmax.py").write_text(GOOD)
    (root / "Ann Bee_3_assignsubmission_file_softmax.py").write_text(GOOD)
    make_zip(root / "Ann Bee_3_assignsubmission_file_small.zip", {"a.txt": b"x" * 100})
    limits = ZipLimits(student_bytes=100_000, student_files=50)  # each zip alone fits
    cls = open_class(root, "softmax.py", tmp_path / "work", limits)
    subs = by_id(cls.submissions)
    assert subs["Ann Bee_3"].path is not None and (subs["Ann Bee_3"].folder / "small" / "a.txt").exists()
    assert subs["Mal Lory_12"].path is None and "per-student cap" in subs["Mal Lory_12"].problem
    written = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert written < 2 * limits.student_bytes  # nothing of the over-cap student stays


def test_file_count_cap_is_per_student_in_a_plain_folder(tmp_path):
    cls = tmp_path / "class"
    student(cls, "alice")
    many = student(cls, "mallory")
    for i in range(30):
        (many / f"f{i}.txt").write_text("")
    subs = by_id(discover(cls, "softmax.py", tmp_path / "cache", limits=ZipLimits(student_files=20)))
    assert subs["alice"].path is not None
    assert subs["mallory"].path is None and "more than 20 files" in subs["mallory"].problem


# --- 5. gradgrader's own output, zip names (#19) ---------------------------------------------


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


def test_utf8_names_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    real = "Björn Ångström_5_assignsubmission_file_softmax.py"
    data = real.encode("utf-8")
    placeholder = "X" * len(data)
    z = tmp_path / "infozip.zip"
    make_zip(z, {placeholder: GOOD.encode()})
    z.write_bytes(z.read_bytes().replace(placeholder.encode(), data))  # no 0x800 flag set
    with zipfile.ZipFile(z) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800
    done = safe_extract(z, tmp_path / "x")
    assert [p.name for p in done.files] == [real]


def test_grade_with_out_inside_the_class_folder_then_resume(tmp_path, monkeypatch):
    """``gradgrader grade . -a softmax -o out``, then the same with ``--resume``: OUT is
    never graded as a student, nor anything gradgrader wrote (#19)."""
    from conftest import sample_path
    from typer.testing import CliRunner

    from gradgrader.cli import app
    from gradgrader.results import read_results

    cls = tmp_path / "class"
    (cls / "alice").mkdir(parents=True)
    (cls / "alice" / "softmax.py").write_bytes((sample_path("correct-vectorized") / "softmax.py").read_bytes())
    monkeypatch.chdir(cls)
    args = ["grade", ".", "-a", "softmax", "-o", "out", "--skip-validation", "--allow-weak-sandbox"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert [r["submission"] for r in read_results(cls / "out", everyone=True)] == ["alice"]


def test_review_regrades_a_renamed_id_from_its_own_folder(tmp_path):
    from gradgrader.review import locate_submission

    cls = tmp_path / "class"
    student(cls, "alice")
    impostor = student(cls, " alice", "# impostor\n" + GOOD)
    (impostor / "helper.py").write_text("")
    other = next(s for s in discover(cls, "softmax.py", tmp_path / "cache") if s.id != "alice")
    r = {"submission": other.id, "path": str(other.path)}
    found = locate_submission(r, {"class_folder": str(cls)}, "softmax.py")
    assert found.id == other.id and found.folder == impostor and found.path == impostor / "softmax.py"


def test_check_of_a_students_own_folder_is_not_held_to_the_class_caps(tmp_path, monkeypatch):
    from gradgrader.ingest import folders, single

    folder = student(tmp_path, "mine")
    for i in range(12):
        (folder / f"data{i}.txt").write_text("")
    # class caps of 10 files by default: a class folder is held to them, `check` is not
    monkeypatch.setattr(folders, "ZipLimits", lambda **kw: ZipLimits(**{"student_files": 10, **kw}))
    assert discover(tmp_path, "softmax.py", tmp_path / "cache")[0].path is None
    assert single(folder, "softmax.py").path == folder / "softmax.py"


def test_moodle_a_full_name_shaped_like_a_prefix_still_files_under_its_participant(tmp_path):
    """The other side of the first-prefix rule: a full name that holds a prefix
    (``x_7_assignsubmission_file``) is told apart by the names the other entries confirm."""
    root = tmp_path / "moodle"
    root.mkdir()
    (root / "Victim Person_7_assignsubmission_file_softmax.py").write_text("# victim\n" + GOOD)
    (root / "x_7_assignsubmission_file_12_assignsubmission_file_softmax.py").write_text("# x\n" + GOOD)
    (root / "Ann Bee_3_assignsubmission_file_1_assignsubmission_file_softmax.py").write_text("# ann\n" + GOOD)
    (root / "Ann Bee_3_assignsubmission_onlinetext_notes.txt").write_text("")
    subs = by_id(open_class(root, "softmax.py", tmp_path / "work").submissions)
    assert subs["Victim Person_7"].path.read_text().startswith("# victim")
    assert subs["x_7_assignsubmission_file_12"].path.read_text().startswith("# x")
    ann = subs["Ann Bee_3"]
    assert (ann.folder / "1_assignsubmission_file_softmax.py").read_text().startswith("# ann")
