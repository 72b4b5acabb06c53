"""gradgrader/results.py: results.jsonl and grades.csv (file IO): ids a spreadsheet would run as formulas, files the TA can read."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradgrader.results import grades_csv


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)"])
def test_grades_csv_neutralises_spreadsheet_formulas_in_ids(name: str) -> None:
    row = {"submission": name, "score": 1.0, "max_score": 2.0, "status": "graded", "mistakes": []}
    import csv
    import io

    cell = list(csv.reader(io.StringIO(grades_csv([row]))))[1][0]
    assert cell == "'" + name


def test_files_written_for_the_ta_are_readable_like_any_new_file(tmp_path: Path) -> None:
    import os
    import stat

    from gradgrader.results import atomic_write

    atomic_write(tmp_path / "grades.csv", "x\n")
    mode = stat.S_IMODE((tmp_path / "grades.csv").stat().st_mode)
    mask = os.umask(0)
    os.umask(mask)
    assert mode == 0o666 & ~mask
