"""gradgrader/ingest/classexport.py: open_class reads a class export (zip or folder, Canvas, Moodle, Gradescope or plain) into submissions."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gradgrader.cli import app


def test_a_damaged_zip_is_called_damaged(tmp_path: Path) -> None:
    bad = tmp_path / "submissions.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 20)  # the start of a zip, cut off
    result = CliRunner().invoke(app, ["grade", str(bad), "-a", "softmax", "-o", str(tmp_path / "out"), "--allow-weak-sandbox"])
    assert result.exit_code == 2 and "cannot be read (damaged or not fully downloaded?)" in result.stderr
