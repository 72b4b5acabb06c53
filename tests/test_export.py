"""The command line on LMS exports: ``grade submissions.zip`` writes results, the
gradebook and the feedback folder in one go; ``gradgrader gradescope`` writes
results.json. Skipped until the CLI has the `grade` export options and the `gradescope`
command (see docs/lms.md)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES
from typer.testing import CliRunner

from gradgrader.cli import app

COMMANDS = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
GRADE = next(
    (c.callback for c in app.registered_commands if (c.name or c.callback.__name__) == "grade"),
    None,
)
HAS_EXPORTS = GRADE is not None and "column" in GRADE.__code__.co_varnames
WEAK_OK = "--allow-weak-sandbox"


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.skipif(not HAS_EXPORTS, reason="the CLI's grade does not read LMS exports yet")
def test_grade_a_canvas_zip_writes_results_gradebook_and_feedback(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "alice_1001_5001_softmax.py",
            (SAMPLES / "correct-vectorized" / "softmax.py").read_bytes(),
        )
        zf.writestr(
            "bob_LATE_1002_5003_softmax-1.py",
            (SAMPLES / "sign-flipped" / "softmax.py").read_bytes(),
        )
    out = tmp_path / "OUT"
    got = run(
        "grade",
        archive,
        "--assignment",
        "softmax",
        "--out",
        out,
        "--jobs",
        "1",
        "--quiet",
        "--skip-validation",
        "--gradebook-column",
        "HW3 (42)",
        WEAK_OK,
    )
    assert got.exit_code == 0, got.output
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3 (42)"]
    assert {r[1]: r[5] for r in rows[2:]}["1001"] == "10"
    results = {
        json.loads(line)["submission"]: json.loads(line)
        for line in (out / "results.jsonl").read_text().splitlines()
    }
    assert results["bob"]["late"] is True and results["alice"]["late"] is False
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["alice.md", "bob.md"]
    assert json.loads((out / "run.json").read_text())["input_kind"] == "canvas"


def test_an_override_reaches_the_gradebook_and_the_feedback_and_survives_a_resume(tmp_path):
    """The TA's score and comment (from the review UI) go into every output the LMS and
    the student see, not only grades.csv, and stay there when the class is graded again."""
    from gradgrader.export import refresh_exports
    from gradgrader.overrides import record_override

    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice_1001_5001_softmax.py", (SAMPLES / "correct-vectorized" / "softmax.py").read_bytes())
        zf.writestr("bob_1002_5003_softmax.py", (SAMPLES / "sign-flipped" / "softmax.py").read_bytes())
    out = tmp_path / "OUT"
    args = ("grade", archive, "-a", "softmax", "-o", out, "--jobs", "1", "--quiet", "--skip-validation",
            "--gradebook-column", "HW3 (42)", WEAK_OK)
    assert run(*args).exit_code == 0

    def bob() -> tuple[str, str]:
        rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))
        return {r[1]: r[5] for r in rows[2:]}["1002"], (out / "feedback" / "bob.md").read_text()

    assert bob()[0] == "7.25"
    record_override(out, "bob", 9.5, "Good derivation, sign slip only")
    refresh_exports(out)  # what the review UI does after an override
    score, feedback = bob()
    assert score == "9.5"
    assert "**Score: 9.5 / 10**" in feedback and "from 7.25 to 9.5" in feedback and "sign slip only" in feedback
    got = run(*args, "--resume")
    assert got.exit_code == 0, got.output
    assert bob()[0] == "9.5" and "sign slip only" in bob()[1]


@pytest.mark.skipif("gradescope" not in COMMANDS, reason="the CLI has no gradescope command yet")
def test_gradescope_command_writes_results_json(tmp_path):
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "softmax.py").write_bytes((SAMPLES / "transposed" / "softmax.py").read_bytes())
    results = tmp_path / "results" / "results.json"
    got = run(
        "gradescope",
        "--assignment",
        "softmax",
        "--submission",
        submission,
        "--results",
        results,
        WEAK_OK,
    )
    assert got.exit_code == 0, got.output
    data = json.loads(results.read_text())
    assert 0 < data["score"] < 10 and data["tests"]
    bad = run(
        "gradescope",
        "--assignment",
        "no-such",
        "--submission",
        submission,
        "--results",
        results,
        WEAK_OK,
    )
    assert bad.exit_code == 2 and json.loads(results.read_text())["score"] == 0


def test_the_cli_snippets_are_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "lms.md").read_text(encoding="utf-8")
    for text in (
        "gradgrader grade submissions.zip",
        "gradgrader gradescope",
        "run_autograder",
        "setup.sh",
    ):
        assert text in doc


def test_grade_prints_the_override_marked_as_grades_csv_has_it(tmp_path):
    from gradgrader.overrides import record_override

    folder = tmp_path / "class"
    (folder / "bob").mkdir(parents=True)
    (folder / "bob" / "softmax.py").write_bytes((SAMPLES / "sign-flipped" / "softmax.py").read_bytes())
    out = tmp_path / "OUT"
    args = ("grade", folder, "-a", "softmax", "-o", out, "--jobs", "1", "--skip-validation", WEAK_OK)
    assert run(*args).exit_code == 0
    record_override(out, "bob", 9.5, "sign slip only")
    got = run(*args, "--resume")
    assert got.exit_code == 0, got.output
    text = " ".join(got.output.split())
    assert "9.5/10 (override)" in text and "7.25/10" not in text
