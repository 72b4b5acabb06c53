"""Errors reach the user as one readable line, quoting TOML keys intact."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gradgrader.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_toml_keys_in_messages_are_not_eaten_as_markup(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('assignment = "softmax"\n[checks."no.such"]\npoints = 1\n')
    sample = ROOT / "assignments" / "softmax" / "samples" / "correct-vectorized"
    result = CliRunner().invoke(app, ["check", str(sample), "-a", "softmax", "--rubric", str(rubric)])
    assert result.exit_code == 2
    assert '[checks."no.such"] is not a check of assignment' in result.stderr
    assert "Traceback" not in result.stderr
