"""gradgrader/ingest/canvas.py: a Canvas submissions export, its file names parsed into
students."""

from __future__ import annotations

from pathlib import Path

from conftest import GOOD, by_id

from gradgrader.ingest import canvas as canvas_reader
from gradgrader.ingest import open_class


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
