"""A student's folder named with Textual/Rich markup is shown as written by the review
app and never parsed: pressing ``g`` (re-grade) on it used to crash the app or run the
markup's action (#16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.text import Text
from test_tui_app import ROOT, STUDENT_SOURCE, press, result, settle, sync

from gradgrader.tui.app import ReviewApp

HOSTILE = "[@click=app.quit]x[bold]"


@pytest.fixture
def hostile_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRADGRADER_KEYMAP", str(tmp_path / "no-keymap.toml"))
    folder = tmp_path / "class" / HOSTILE
    folder.mkdir(parents=True)
    (folder / "softmax.py").write_text(STUDENT_SOURCE, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    r = result(HOSTILE)
    (out / "results.jsonl").write_text(json.dumps(r) + "\n", encoding="utf-8")
    (out / "run.json").write_text(
        json.dumps(
            {
                "assignment": "softmax",
                "assignment_path": str(ROOT / "assignments" / "softmax"),
                "rubric": str(ROOT / "rubrics" / "softmax.toml"),
                "class_folder": str(tmp_path / "class"),
                "strict_sandbox": False,  # about names, not the sandbox policy
            }
        ),
        encoding="utf-8",
    )
    (out / "grades.csv").write_text("submission,score,max_score,status,mistakes\n", encoding="utf-8")
    return out


@sync
async def test_markup_in_a_name_is_shown_literally_when_regrading(hostile_class: Path) -> None:
    app = ReviewApp(out=hostile_class)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await press(app, pilot, "g")
        await settle(app, pilot)
        assert app.is_running  # [@click=app.quit] ran nothing, nothing crashed
        assert not app.regrading and app.results[HOSTILE].status == "graded"
        # notifications are markup: what the TA sees is the rendered text
        shown = [Text.from_markup(str(n.message)).plain for n in app._notifications]
        assert any(HOSTILE in message for message in shown), shown  # name as written
