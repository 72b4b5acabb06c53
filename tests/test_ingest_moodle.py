"""gradgrader/ingest/moodle.py: a Moodle download, against hostile names and shapes (#16):
a file named like another participant's prefix stays with its uploader, two entries
claiming one place are reported, never overwritten, a FIFO is skipped. Every attack is
built here, in tmp_path (the other hostile-ingest tests sit beside the module they test:
test_ingest_folders, test_ingest_classexport, test_ingest_archive, test_ingest_canvas,
test_ingest_gradescope, test_submission, test_submission_notebook)."""

from __future__ import annotations

import os

import pytest
from conftest import GOOD, by_id

from gradgrader.ingest import open_class


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
