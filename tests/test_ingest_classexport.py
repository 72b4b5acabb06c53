"""gradgrader/ingest/classexport.py: open_class and detect on a TA's real class. Canvas,
Moodle and Gradescope exports (zips built here from copies of the sample submissions) are
recognised, each student gets the export's own id, the right file is graded for real, and
the gradebook and feedback files come out (the LMS round trip, ingest → export); damaged
zips, skipped entries, FIFOs and caps are reported per student."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from conftest import EXPECTED, GOOD, SAMPLES, by_id, make_zip, student, write_zip
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.export import export_class
from gradgrader.grading import Grader
from gradgrader.ingest import ZipLimits, detect, discover, open_class
from gradgrader.results import Result, dumps


def sample(name: str) -> bytes:
    return (SAMPLES / name / "softmax.py").read_bytes()


def notebook(*cells: tuple[str, str]) -> bytes:
    """An nbformat-4 notebook of (cell type, source) pairs."""
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": kind,
                    "metadata": {},
                    "source": src,
                    **({"outputs": [], "execution_count": None} if kind == "code" else {}),
                }
                for kind, src in cells
            ],
            "metadata": {"kernelspec": {"name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


CORRECT_NOTEBOOK = notebook(
    ("markdown", "# Homework 3: softmax regression"),
    ("code", "%matplotlib inline\n%load_ext autoreload\n!pip install --quiet numpy\n"),
    ("code", sample("correct-vectorized").decode()),
    ("code", "%%timeit\nsoftmax_loss(W, X, y, 0.1)\n"),
)
BROKEN_NOTEBOOK = notebook(
    ("markdown", "# Homework 3"),
    ("code", "%matplotlib inline\nimport numpy as np\n"),
    ("code", "def softmax(Z)\n    return Z\n"),
)


@pytest.fixture(scope="module")
def grader(softmax, softmax_rubric):
    # one job: grade_all on a Grader with jobs > 1 cannot be called twice yet (worker folders
    # are named by thread id, which a second pool may reuse)
    with Grader(softmax, softmax_rubric, jobs=1) as g:
        yield g


def grade(grader: Grader, cls) -> dict[str, Result]:
    by_id = {s.id: s for s in cls.submissions}
    return {
        r.submission: by_id[r.submission].relocate(r) for r in grader.grade_all(cls.submissions)
    }


def as_dicts(results: dict[str, Result]) -> list[dict]:
    return [json.loads(dumps(r)) for r in results.values()]


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


# ----------------------------------------------------------------- Canvas


@pytest.fixture(scope="module")
def canvas(tmp_path_factory, grader):
    tmp = tmp_path_factory.mktemp("canvas")
    archive = make_zip(
        tmp / "submissions.zip",
        {
            "alice_1001_5001_softmax.py": sample("correct-vectorized"),
            # bob resubmitted after the deadline: Canvas renamed the second upload softmax-1.py
            "bob_1002_5002_softmax.py": sample("sign-flipped"),
            "bob_LATE_1002_5003_softmax-1.py": sample("correct-vectorized"),
            # carol's softmax.py imports her own helper module
            "carol_1003_5004_helpers.py": sample("missing-normalization"),
            "carol_1003_5005_softmax.py": b"from helpers import *  # noqa\n",
            # dave uploaded two files, neither named softmax.py
            "dave_1004_5006_part1.py": sample("correct-vectorized"),
            "dave_1004_5007_part2.py": sample("sign-flipped"),
            "../escaped.py": b"print('zip slip')\n",
            str(tmp / "absolute.py"): b"print('absolute')\n",
            "big.bin": bytes(range(256)) * 1200,
        },
        links={"link_1009_5010_softmax.py": "/etc/passwd"},
    )
    cls = open_class(
        archive, "softmax.py", tmp / "out" / ".extracted", ZipLimits(max_entry_bytes=200_000)
    )
    return tmp, cls, grade(grader, cls)


def test_canvas_download_is_recognised_with_login_ids(canvas):
    _, cls, _ = canvas
    assert cls.kind == "canvas"
    assert [s.id for s in cls.submissions] == ["alice", "bob", "carol", "dave"]
    assert cls.submissions[0].extra["lms"] == {
        "kind": "canvas",
        "login": "alice",
        "user_id": "1001",
        "files": ["alice_1001_5001_softmax.py"],
    }


def test_canvas_resubmission_latest_is_graded_and_late_kept(canvas):
    _, cls, results = canvas
    bob = next(s for s in cls.submissions if s.id == "bob")
    assert bob.path is not None and bob.path.name == "softmax.py" and bob.extra["late"] is True
    assert results[
        "bob"
    ].full_marks  # the resubmission (correct), not the sign-flipped first upload
    assert json.loads(dumps(results["bob"]))["late"] is True
    assert json.loads(dumps(results["alice"]))["late"] is False
    assert any(
        s.name == "bob_1002_5002_softmax.py" and "older upload" in s.reason for s in cls.skipped
    )


def test_canvas_student_with_two_files_gets_the_named_one_and_its_helper(canvas):
    _, _, results = canvas
    carol = results["carol"]
    assert carol.status == "graded"
    assert set(carol.mistakes) == set(EXPECTED["missing-normalization"]["mistakes"])
    assert carol.score < carol.max_score


def test_canvas_student_with_two_unnamed_files_is_reported_not_guessed(canvas):
    _, _, results = canvas
    dave = results["dave"]
    assert dave.status == "error" and dave.score == 0
    assert "part1.py" in dave.message and "part2.py" in dave.message and "rename" in dave.message


def test_canvas_zip_slip_link_and_oversized_entries_are_skipped_and_reported(canvas):
    tmp, cls, _ = canvas
    assert not (tmp / "escaped.py").exists() and not (tmp / "out" / "escaped.py").exists()
    assert not (tmp / "absolute.py").exists()
    reasons = {s.name: s.reason for s in cls.skipped}
    assert "outside the extraction folder" in reasons["../escaped.py"]
    assert "outside the extraction folder" in reasons[str(tmp / "absolute.py")]
    assert "symbolic link" in reasons["link_1009_5010_softmax.py"]
    assert "allowed per file" in reasons["big.bin"]
    extracted = tmp / "out" / ".extracted"
    assert not any(p.is_symlink() for p in extracted.rglob("*"))
    assert all(p.resolve().is_relative_to(extracted.resolve()) for p in extracted.rglob("*"))


def test_canvas_gradebook_feedback_and_students_files(canvas):
    tmp, cls, results = canvas
    out = tmp / "out"
    done = export_class(
        out, as_dicts(results), cls.kind, "Softmax HW (777)", late_column=True, title="softmax"
    )
    rows = read_csv(done.gradebook)
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Softmax HW (777)",
        "Late",
    ]
    assert rows[1] == ["Points Possible", "", "", "", "", "10", ""]
    by_id = {r[1]: r for r in rows[2:]}
    assert by_id["1001"] == ["alice", "1001", "", "", "", "10", "no"]
    assert by_id["1002"][5:] == ["10", "yes"]
    assert by_id["1003"][5] == f"{results['carol'].score:g}"
    assert by_id["1004"][5] == "0"
    students = read_csv(out / "students.csv")
    assert students[0][:8] == [
        "submission",
        "student",
        "sid",
        "email",
        "score",
        "max_score",
        "status",
        "late",
    ]
    assert {r[0]: r[7] for r in students[1:]} == {
        "alice": "no",
        "bob": "yes",
        "carol": "no",
        "dave": "no",
    }
    assert sorted(p.name for p in done.feedback_files) == [
        "alice.md",
        "bob.md",
        "carol.md",
        "dave.md",
    ]
    bob = (out / "feedback" / "bob.md").read_text()
    assert "**Score: 10 / 10**" in bob and "submitted late" in bob
    carol = (out / "feedback" / "carol.md").read_text()
    assert "missing-normalization" in carol and "**Next step:**" in carol and "❌" in carol
    assert "rename the one to grade" in (out / "feedback" / "dave.md").read_text()


def test_canvas_gradebook_leaves_out_the_late_column_unless_asked(canvas):
    tmp, cls, results = canvas
    done = export_class(tmp / "plain-out", as_dicts(results), cls.kind, "softmax")
    assert read_csv(done.gradebook)[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "softmax",
    ]


def test_canvas_roster_fills_names_sis_ids_and_sections(canvas):
    tmp, cls, results = canvas
    roster = tmp / "roster.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Softmax HW (777)\n"
        "    Points Possible,,,,,10\n"
        '"Smith, Alice",1001,S-1,asmith,Section A,\n'
    )
    done = export_class(
        tmp / "roster-out", as_dicts(results), cls.kind, "Softmax HW (777)", roster=roster
    )
    alice = next(r for r in read_csv(done.gradebook) if r[1] == "1001")
    assert alice == ["Smith, Alice", "1001", "S-1", "asmith", "Section A", "10"]


# ----------------------------------------------------------------- Moodle


@pytest.fixture(scope="module")
def moodle(tmp_path_factory, grader):
    tmp = tmp_path_factory.mktemp("moodle")
    archive = make_zip(
        tmp / "moodle.zip",
        {
            "Erin Example_201_assignsubmission_file_/softmax.ipynb": CORRECT_NOTEBOOK,
            "Erin Example_201_assignsubmission_onlinetext_/onlinetext.html": b"<p>see my notebook</p>",
            "Frank Fake_202_assignsubmission_file_/hw3.ipynb": BROKEN_NOTEBOOK,
            "Gina Good_203_assignsubmission_file_/softmax.py": sample("transposed"),
        },
    )
    cls = open_class(archive, "softmax.py", tmp / "out" / ".extracted")
    return tmp, cls, grade(grader, cls)


def test_moodle_download_is_recognised_with_name_and_participant_ids(moodle):
    _, cls, _ = moodle
    assert cls.kind == "moodle"
    assert [s.id for s in cls.submissions] == [
        "Erin Example_201",
        "Frank Fake_202",
        "Gina Good_203",
    ]
    assert cls.submissions[0].extra["lms"] == {
        "kind": "moodle",
        "participant": "201",
        "name": "Erin Example",
    }
    assert (
        cls.root / "Erin Example_201" / "onlinetext.html"
    ).is_file()  # every plugin's files, one folder


def test_notebook_with_magics_is_graded_for_real(moodle):
    _, _, results = moodle
    erin = results["Erin Example_201"]
    assert erin.status == "graded" and erin.full_marks, erin.message
    assert json.loads(dumps(erin))["notebook"].endswith("softmax.ipynb")


def test_notebook_errors_point_at_the_cell_and_line(moodle):
    _, _, results = moodle
    frank = results["Frank Fake_202"]
    assert frank.status == "error"
    assert "cell 3, line 1" in frank.message and "hw3.ipynb" in frank.message, frank.message
    assert "line 5" not in frank.message  # no line number of the generated module


def test_moodle_worksheet_and_feedback(moodle):
    tmp, cls, results = moodle
    done = export_class(tmp / "out", as_dicts(results), cls.kind, "softmax", title="softmax")
    rows = read_csv(done.gradebook)
    assert rows[0][:6] == [
        "Identifier",
        "Full name",
        "Email address",
        "Status",
        "Grade",
        "Maximum Grade",
    ]
    assert "Last modified (grade)" in rows[0] and "Feedback comments" in rows[0]
    by_pid = {r[0]: r for r in rows[1:]}
    assert set(by_pid) == {"Participant 201", "Participant 202", "Participant 203"}
    assert by_pid["Participant 201"][1] == "Erin Example" and by_pid["Participant 201"][4] == "10"
    assert by_pid["Participant 203"][4] == f"{results['Gina Good_203'].score:g}"
    assert "transposed" in by_pid["Participant 203"][-1]
    assert sorted(p.name for p in done.feedback_files) == [
        "Erin_Example_201.md",
        "Frank_Fake_202.md",
        "Gina_Good_203.md",
    ]
    assert "cell 3, line 1" in (tmp / "out" / "feedback" / "Frank_Fake_202.md").read_text()


def test_moodle_flat_download_is_read_too(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    (root / "Ann Lee_301_assignsubmission_file_softmax.py").write_text("x = 1\n")
    (root / "Ann Lee_301_assignsubmission_file_notes.txt").write_text("n\n")
    (root / "Bo Chan_302_assignsubmission_file_hw.ipynb").write_bytes(CORRECT_NOTEBOOK)
    cls = open_class(root, "softmax.py", tmp_path / "work")
    assert cls.kind == "moodle" and [s.id for s in cls.submissions] == [
        "Ann Lee_301",
        "Bo Chan_302",
    ]
    ann, bo = cls.submissions
    assert ann.path == cls.root / "Ann Lee_301" / "softmax.py"
    assert (
        bo.notebook is not None
        and bo.path is not None
        and bo.path.is_relative_to(tmp_path / "work" / "notebooks")
    )


# ----------------------------------------------------------------- Gradescope

METADATA = """\
submission_111:
  :submitters:
  - :name: Hana Ito
    :sid: '9001'
    :email: hana@example.edu
  - :name: Ivan Petrov
    :sid: '9002'
    :email: ivan@example.edu
  :created_at: 2026-11-20 21:14:03.123456000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
submission_222:
  :submitters:
  - :name: Jo Kim
    :sid: 9003
    :email: jo@example.edu
  :created_at: 2026-11-21 09:00:00.000000000 -08:00
"""


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory, grader):
    tmp = tmp_path_factory.mktemp("gradescope")
    archive = make_zip(
        tmp / "export.zip",
        {
            "assignment_77_export/submission_metadata.yml": METADATA.encode(),
            "assignment_77_export/submission_111/softmax.py": sample("missing-normalization"),
            "assignment_77_export/submission_222/src/softmax.py": sample("correct-vectorized"),
            "assignment_77_export/submission_333/README.txt": b"forgot the code\n",
            "assignment_77_export/submission_444.pdf": b"%PDF-1.4\n",
        },
    )
    cls = open_class(archive, "softmax.py", tmp / "out" / ".extracted")
    return tmp, cls, grade(grader, cls)


def test_gradescope_export_maps_submissions_to_their_students(gradescope):
    _, cls, _ = gradescope
    assert cls.kind == "gradescope"
    assert [s.id for s in cls.submissions] == ["submission_111", "submission_222", "submission_333"]
    lms = cls.submissions[0].extra["lms"]
    assert [p["name"] for p in lms["students"]] == ["Hana Ito", "Ivan Petrov"]
    assert cls.submissions[1].extra["lms"]["students"] == [
        {"name": "Jo Kim", "sid": "9003", "email": "jo@example.edu"}
    ]
    assert any("submission_333 is not in submission_metadata.yml" in w for w in cls.warnings)
    assert [s.name for s in cls.skipped] == ["submission_444.pdf"]


def test_gradescope_submissions_are_graded(gradescope):
    _, _, results = gradescope
    assert results["submission_222"].full_marks  # found in src/
    assert set(results["submission_111"].mistakes) == set(
        EXPECTED["missing-normalization"]["mistakes"]
    )
    assert (
        results["submission_333"].status == "error"
        and "no softmax.py" in results["submission_333"].message
    )


def test_gradescope_group_gets_a_gradebook_row_per_student(gradescope):
    tmp, cls, results = gradescope
    done = export_class(tmp / "out", as_dicts(results), cls.kind, "softmax")
    assert done.form == "plain" and done.students is None
    rows = read_csv(done.gradebook)
    assert rows[0] == [
        "submission",
        "student",
        "sid",
        "email",
        "score",
        "max_score",
        "status",
        "late",
        "mistakes",
    ]
    group = [r for r in rows[1:] if r[0] == "submission_111"]
    assert [(r[1], r[2]) for r in group] == [("Hana Ito", "9001"), ("Ivan Petrov", "9002")]
    assert {r[4] for r in group} == {f"{results['submission_111'].score:g}"}
    assert "Hana Ito, Ivan Petrov" in (tmp / "out" / "feedback" / "submission_111.md").read_text()


# ----------------------------------------------------------------- plain folders


def test_plain_folder_keeps_its_behaviour_and_takes_notebooks(tmp_path):
    root = tmp_path / "class"
    (root / "kim").mkdir(parents=True)
    (root / "kim" / "softmax.py").write_bytes(sample("correct-vectorized"))
    (root / "lee.ipynb").write_bytes(CORRECT_NOTEBOOK)
    (root / "max.py").write_text("x = 1\n")
    (root / "notes.txt").write_text("TA notes\n")
    cls = open_class(root, "softmax.py", tmp_path / "out" / ".extracted")
    assert cls.kind == "folder" and cls.root == root
    assert [s.id for s in cls.submissions] == ["kim", "lee", "max"]
    assert cls.submissions[1].notebook is not None
    assert [s.name for s in cls.skipped] == ["notes.txt"]


def test_zip_of_a_class_folder_is_looked_through(tmp_path):
    archive = make_zip(
        tmp_path / "class.zip",
        {"class/kim/softmax.py": b"x = 1\n", "class/lee/softmax.py": b"x = 2\n"},
    )
    cls = open_class(archive, "softmax.py", tmp_path / "work")
    assert cls.kind == "folder" and [s.id for s in cls.submissions] == ["kim", "lee"]


def test_detect_needs_most_entries_to_follow_the_lms_naming(tmp_path):
    (tmp_path / "alice_1_2_softmax.py").write_text("")
    for name in ("bob.py", "carol.py"):
        (tmp_path / name).write_text("")
    assert detect(tmp_path) == "folder"


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
