"""gradgrader/ingest/folders.py: a class folder, one folder or file per student, and which file of a folder is graded."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import SOFTMAX_SAMPLES
from typer.testing import CliRunner

from gradgrader.cli import app


def test_a_file_uploaded_with_an_upper_case_extension_is_graded(tmp_path: Path) -> None:
    (tmp_path / "class" / "yan").mkdir(parents=True)
    shutil.copyfile(SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py", tmp_path / "class" / "yan" / "Softmax.PY")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(out), "--skip-validation", "--allow-weak-sandbox"]
    )
    assert result.exit_code == 0, result.output
    assert "yan,10,10,graded," in (out / "grades.csv").read_text()
