"""The review UI driven by keys (Textual's ``App.run_test`` and ``Pilot``) and compared
with stored SVG screenshots.

Snapshots live in ``tests/snapshots/`` and are compared exactly (syrupy's SVG
extension over ``App.export_screenshot()``). After an intended change of the UI,
regenerate them and look at the new SVGs before committing::

    pytest tests/test_tui_app.py --snapshot-update
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual import events

from gradgrader import review
from gradgrader.overrides import OVERRIDES, load_overrides
from gradgrader.results import read_results
from gradgrader.tui.app import (
    DetailScreen,
    EditDialog,
    HelpScreen,
    OverviewScreen,
    PickDialog,
    ReviewApp,
    ReviewCommands,
)

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on its own event loop (no pytest-asyncio needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


# --- a small class, written as grade would write it -------------------------------------------

POINTS = {
    "logsumexp.value": 1.0,
    "softmax.value": 1.0,
    "softmax_loss.loss": 1.0,
    "softmax_loss.gradient": 2.0,
}
MAX = sum(POINTS.values())

STUDENT_SOURCE = """import numpy as np


def logsumexp(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m)))


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    P = softmax(X @ W.T)
    loss = -np.log(P[np.arange(N), y]).mean() + reg / 2 * np.sum(W * W)
    Y = np.eye(W.shape[0])[y]
    dW = (Y - P).T @ X / N + reg * W
    return loss, dW
"""

DIAGNOSES = {
    "sign-flipped": {
        "title": "The gradient has the wrong sign",
        "explanation": "J(W) is the loss to minimise, so ∇_W J = (1/N)(P − Y)ᵀX + reg·W; yours is its negative.",
        "next_step": "Keep the leading minus of −log p(y_n | x_n).",
    },
    "missing-normalization": {
        "title": "A sum where the mean was asked for",
        "explanation": "J averages over the N samples, so its gradient carries 1/N.",
        "next_step": "Divide by N.",
    },
    "transposed": {
        "title": "The right numbers, transposed",
        "explanation": "dW must be (K, D), like W.",
        "next_step": "",
    },
    "wrong-regularization": {
        "title": "The regularisation gradient is off",
        "explanation": "∇ (reg/2)‖W‖² = reg·W.",
        "next_step": "",
    },
}


def check(
    cid: str, passed: bool, mistake: str | None = None, error_map: list[list[float]] | None = None
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "id": cid,
        "function": cid.split(".")[0],
        "passed": passed,
        "score": POINTS[cid] if passed else 0.0,
        "max_score": POINTS[cid],
        "message": "matches the reference on 3 cases"
        if passed
        else f"{cid.split('.')[0]}'s dW differs from the reference on case 'small'",
        "mistakes": [mistake] if mistake else [],
        "kind": "compare",
        "cases": [
            {"case": k, "passed": passed, "error": 0.0 if passed else 2.0}
            for k in ("small", "medium")
        ],
    }
    if mistake:
        c["diagnosis"] = {
            "mistake": mistake,
            "summary": f"looks like {mistake}",
            **DIAGNOSES.get(mistake, {}),
        }
        if error_map:
            c["diagnosis"]["error_map"] = error_map
            c["diagnosis"]["error_axes"] = "K × D"
    return c


def result(
    sid: str,
    failing: dict[str, str] | None = None,
    status: str = "graded",
    message: str = "",
    output: str = "",
) -> dict[str, Any]:
    failing = failing or {}
    path = f"class/{sid}/softmax.py"
    if status != "graded":
        return {
            "submission": sid,
            "path": path,
            "assignment": "softmax",
            "status": status,
            "score": 0.0,
            "max_score": MAX,
            "checks": [],
            "mistakes": [],
            "elapsed_s": 0.01,
            "message": message,
        }
    emap = [[0.28, 1.25, 0.14, 0.98], [1.41, 2.0, 0.51, 1.05], [1.13, 0.75, 0.37, 0.07]]
    checks = [
        check(
            cid,
            cid not in failing,
            failing.get(cid),
            emap if cid == "softmax_loss.gradient" else None,
        )
        for cid in POINTS
    ]
    mistakes = list(dict.fromkeys(m for m in failing.values()))
    r = {
        "submission": sid,
        "path": path,
        "assignment": "softmax",
        "status": "graded",
        "score": sum(c["score"] for c in checks),
        "max_score": MAX,
        "checks": checks,
        "mistakes": mistakes,
        "elapsed_s": 0.2,
    }
    if output:
        r["output"] = output
    return r


CLASS = [
    result("alice"),
    result(
        "bob",
        {"softmax_loss.gradient": "sign-flipped"},
        output="debug: \x1b[31mred\x1b[0m text\x1b]0;pwned\x07 done\n",
    ),
    result(
        "carol",
        status="error",
        message="softmax.py has a syntax error on line 3: def f( (expected ':'); fix it and run again",
    ),
    result("dave", {"softmax_loss.gradient": "missing-normalization"}),
    result(
        "erin",
        {"softmax_loss.gradient": "sign-flipped", "softmax_loss.loss": "wrong-regularization"},
    ),
    result("frank"),
    result("grace", {"softmax_loss.gradient": "transposed"}),
    result(
        "heidi",
        status="error",
        message="softmax.py fails when it is imported: raised FileNotFoundError",
    ),
]
FAILING = ["bob", "carol", "dave", "erin", "grace", "heidi"]


@pytest.fixture
def classroom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp/out`` as ``gradgrader grade class -o out`` leaves it, run from ``tmp``
    (so the recorded relative paths resolve); the user's keymap is ignored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRADGRADER_KEYMAP", str(tmp_path / "no-keymap.toml"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    for r in CLASS:
        folder = tmp_path / "class" / r["submission"]
        folder.mkdir(parents=True)
        (folder / "softmax.py").write_text(STUDENT_SOURCE, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CLASS), encoding="utf-8"
    )
    (out / "run.json").write_text(
        json.dumps(
            {
                "assignment": "softmax",
                "assignment_path": str(ROOT / "assignments" / "softmax"),
                "rubric": str(ROOT / "rubrics" / "softmax.toml"),
                "class_folder": str(tmp_path / "class"),
                "strict_sandbox": False,  # these tests are about re-grading, not the sandbox policy
            }
        ),
        encoding="utf-8",
    )
    (out / "grades.csv").write_text(
        "submission,score,max_score,status,mistakes\n", encoding="utf-8"
    )
    return out


async def settle(app: ReviewApp, pilot: Any, timeout: float = 60.0) -> None:
    """Wait until the results are loaded, no worker runs (table fills, file writes,
    re-grades) and the screen has processed its messages. Loading is a chain (preview,
    then a thread, then a fill), so this loops until a round finds nothing left to do."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:  # two quiet rounds in a row: a finished worker may start another
        assert time.monotonic() < deadline, "the review app did not settle"
        await app.workers.wait_for_complete()
        await pilot.pause()
        busy = app.loading or bool(app.regrading) or any(w.is_running for w in app.workers)
        quiet = 0 if busy else quiet + 1


@contextlib.asynccontextmanager
async def reviewing(out: Path, size: tuple[int, int] = (80, 24)) -> AsyncIterator[tuple[ReviewApp, Any]]:
    """The review app on ``out`` in a headless terminal of ``size``, settled."""
    app = ReviewApp(out=out)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        yield app, pilot


def with_exports(out: Path) -> None:
    """Record in ``out/run.json`` that the run wrote a gradebook and feedback (as
    ``grade`` does), so that the review app keeps them current."""
    from gradgrader.export import export_settings

    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    run["export"] = export_settings("folder", "softmax", None, False, None, "Softmax")
    (out / "run.json").write_text(json.dumps(run), encoding="utf-8")


async def until(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    """Wait (without a fixed sleep) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.02)


def _palette_ready(app: ReviewApp) -> bool:
    """The command palette is open and shows its hits."""
    from textual.command import CommandList, CommandPalette

    screen = app.screen
    return isinstance(screen, CommandPalette) and screen.query_one(CommandList).option_count > 0


async def press(app: ReviewApp, pilot: Any, *keys: str) -> None:
    """Press ``keys`` one at a time, letting the app settle after each (a key that opens
    a dialog is followed by keys meant for the dialog)."""
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def dialog(app: ReviewApp, pilot: Any, kind: type) -> None:
    """Wait until a ``kind`` dialog is on top and has the focus (mounting and focusing
    take several message hops; keys typed earlier would go to the table)."""
    await until(pilot, lambda: isinstance(app.screen, kind) and app.screen.focused is not None)


def shown(app: ReviewApp) -> list[str]:
    return [r.submission for r in app.view]


def table_keys(app: ReviewApp) -> list[str]:
    table = app.table_screen.table
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


# --- navigation --------------------------------------------------------------------------------


@sync
async def test_table_lists_every_submission_by_id(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        assert table_keys(app) == sorted(r["submission"] for r in CLASS)
        assert not app.loading


@sync
async def test_a_large_class_shows_its_first_page_then_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More results than the first page: the preview fills the table, the worker the rest
    (appended to the rows already shown), and a re-graded line later in the file wins."""
    monkeypatch.setenv("GRADGRADER_KEYMAP", str(tmp_path / "none.toml"))
    rows = [
        result(f"s{i:04d}", {"softmax_loss.gradient": "sign-flipped"} if i % 3 else None)
        for i in range(700)
    ]
    rows.append(dict(rows[0], score=1.0))  # s0000 graded again: the last line counts
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    async with reviewing(out) as (app, pilot):
        assert not app.loading and app.stats.total == 700
        keys = table_keys(app)
        assert keys == [f"s{i:04d}" for i in range(700)]
        assert app.results["s0000"].score == 1.0
        await press(app, pilot, "f")
        # every third one passes, except s0000 whose last line is short of full marks
        assert table_keys(app) == [f"s{i:04d}" for i in range(700) if i % 3 or i == 0]


@sync
async def test_n_and_p_jump_between_failing_submissions(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        assert app.selected == "alice"
        seen = []
        for _ in range(len(FAILING)):
            await press(app, pilot, "n")
            seen.append(app.selected)
        assert seen == FAILING
        await press(app, pilot, "n")
        assert app.selected == FAILING[0]  # wraps around
        await press(app, pilot, "p")
        assert app.selected == FAILING[-1]
        table = app.table_screen.table
        assert table_keys(app)[table.cursor_row] == FAILING[-1]


@sync
async def test_enter_opens_the_detail_and_n_moves_it_on(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "down", "enter")
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.result.submission == "bob"
        await press(app, pilot, "n")
        assert isinstance(app.screen, DetailScreen) and app.screen.result.submission == "carol"
        await press(app, pilot, "2")
        assert app.screen.query_one("#detail-tabs").active == "source"
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, DetailScreen)
        assert table_keys(app)[app.table_screen.table.cursor_row] == "carol"


@sync
async def test_overview_enter_on_a_mistake_filters_the_table(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "o")
        assert isinstance(app.screen, OverviewScreen)
        await press(app, pilot, "enter")  # the most common mistake: sign-flipped (bob, erin)
        assert app.filter.mistake == "sign-flipped"
        assert shown(app) == ["bob", "erin"] == table_keys(app)


# --- filters, search, sort ----------------------------------------------------------------------


@sync
async def test_f_shows_only_failing_submissions(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "f")
        assert table_keys(app) == FAILING
        await press(app, pilot, "f")
        assert len(table_keys(app)) == len(CLASS)


@sync
async def test_m_picks_a_mistake_to_filter_by(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "m")
        await dialog(app, pilot, PickDialog)
        # options: (any), sign-flipped (2), then one each by id: missing-normalization, transposed, …
        await press(app, pilot, "down", "down", "enter")
        assert app.filter.mistake == "missing-normalization"
        assert table_keys(app) == ["dave"]
        await press(app, pilot, "m")
        await dialog(app, pilot, PickDialog)
        await press(app, pilot, "enter")  # (any mistake)
        assert app.filter.mistake is None and len(table_keys(app)) == len(CLASS)


@sync
async def test_t_cycles_the_status_filter(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "t")
        assert app.filter.status == "graded" and "carol" not in table_keys(app)
        await press(app, pilot, "t")
        assert table_keys(app) == ["carol", "heidi"]
        await press(app, pilot, "t")
        assert app.filter.status is None and len(table_keys(app)) == len(CLASS)


@sync
async def test_search_matches_ids_mistakes_and_messages(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "slash")
        await until(pilot, lambda: app.focused is not app.table_screen.table)
        await press(app, pilot, *"sign")
        assert table_keys(app) == ["bob", "erin"]
        await press(app, pilot, *" reg")  # every word must match (erin also has wrong-regularization)
        assert table_keys(app) == ["erin"]
        await press(app, pilot, "enter")  # back to the table; the search stays
        await until(pilot, lambda: app.focused is app.table_screen.table)
        await press(app, pilot, "x")  # clear every filter
        assert len(table_keys(app)) == len(CLASS)
        await press(app, pilot, "slash")
        await until(pilot, lambda: app.focused is not app.table_screen.table)
        await press(app, pilot, *"syn", "escape")
        assert table_keys(app) == ["carol"] and app.focused is app.table_screen.table


@sync
async def test_s_cycles_the_sort_and_shift_s_reverses_it(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "s")  # by score, lowest first; ties by id
        assert app.sort_key == "score"
        assert table_keys(app)[:2] == ["carol", "heidi"] and table_keys(app)[-2:] == [
            "alice",
            "frank",
        ]
        await press(app, pilot, "S")
        assert table_keys(app)[0] in {"alice", "frank"}


# --- TA actions ---------------------------------------------------------------------------------


def grades_rows(out: Path) -> dict[str, dict[str, str]]:
    import csv

    with (out / "grades.csv").open(encoding="utf-8") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


async def override_bob(app: ReviewApp, pilot: Any, score: str) -> None:
    """Give bob (second row, 3/5) the score ``score`` through the override dialog."""
    await settle(app, pilot)
    await press(app, pilot, "down", "e")
    await dialog(app, pilot, EditDialog)
    await press(app, pilot, *score, "enter")


@sync
async def test_override_is_appended_to_overrides_jsonl_and_grades_csv(classroom: Path) -> None:
    app = ReviewApp(out=classroom)
    async with app.run_test(size=(80, 24)) as pilot:
        await override_bob(app, pilot, "4.5")
        assert not isinstance(app.screen, EditDialog)
        assert app.results["bob"].score == 4.5
        assert app.results["bob"].override.original_score == 3.0
        assert "4.5/5*" in str(app.table_screen.table.get_cell("bob", "score"))
    lines = (classroom / OVERRIDES).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["score"] == 4.5
    row = grades_rows(classroom)["bob"]
    assert row["score"] == "4.5" and row["override_by"]
    assert read_results(classroom)[1]["score"] == 3.0  # results.jsonl keeps the grader's score
    assert {r.submission: r.score for r in review.load(classroom)}[
        "bob"
    ] == 4.5  # what the next session shows


@sync
async def test_an_override_also_rewrites_the_gradebook_and_feedback_of_a_grade_run(classroom: Path) -> None:
    with_exports(classroom)
    app = ReviewApp(out=classroom)
    async with app.run_test(size=(80, 24)) as pilot:
        await override_bob(app, pilot, "4.5")
    assert "bob,bob,,,4.5,5," in (classroom / "gradebook.csv").read_text(encoding="utf-8")
    assert "from 3 to 4.5" in (classroom / "feedback" / "bob.md").read_text(encoding="utf-8")


@sync
async def test_an_out_of_range_override_is_refused_in_the_dialog(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "e")
        await dialog(app, pilot, EditDialog)
        await press(app, pilot, *"45", "enter")
        assert isinstance(app.screen, EditDialog)  # still open, with the reason
        assert "more than twice the maximum" in str(app.screen.query_one("#dialog-error").render())
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, EditDialog)
    assert not (classroom / OVERRIDES).exists()


@sync
async def test_comment_keeps_the_score_override_and_shows_in_the_detail(classroom: Path) -> None:
    async with reviewing(classroom, size=(100, 30)) as (app, pilot):
        await press(app, pilot, "down", "e")
        await dialog(app, pilot, EditDialog)
        await press(app, pilot, "4", "enter")
        await press(app, pilot, "c")
        await dialog(app, pilot, EditDialog)
        await press(app, pilot, *"ok", "enter")
        await press(app, pilot, "enter")
        head = str(app.screen.query_one("#detail-head").render())
        assert "3 → 4" in head and ": ok" in head
    latest = load_overrides(classroom)["bob"]
    assert latest.score == 4.0 and latest.comment == "ok"
    assert grades_rows(classroom)["bob"]["override_comment"] == "ok"
    assert len((classroom / OVERRIDES).read_text(encoding="utf-8").splitlines()) == 2


@sync
async def test_regrade_appends_the_new_result_and_rewrites_grades(classroom: Path) -> None:
    """A real re-grade in the sandbox: bob's file is replaced by the sign-flipped sample
    (7.25/10 with the shipped rubric); the old line stays, the new one is appended."""
    shutil.copy(
        ROOT / "assignments/softmax/samples/sign-flipped/softmax.py",
        classroom.parent / "class/bob/softmax.py",
    )
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "down", "g")
        assert "bob" in app.regrading or app.results["bob"].max_score == 10.0
        await settle(app, pilot)
        assert not app.regrading
        assert app.results["bob"].score == 7.25 and app.results["bob"].max_score == 10.0
        assert "7.25/10" in str(app.table_screen.table.get_cell("bob", "score"))
    lines = (classroom / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(CLASS) + 1
    assert json.loads(lines[1])["score"] == 3.0  # never edited in place
    assert json.loads(lines[-1])["submission"] == "bob"
    assert {r["submission"]: r["score"] for r in read_results(classroom)}["bob"] == 7.25
    assert grades_rows(classroom)["bob"]["score"] == "7.25"


@sync
async def test_command_palette_runs_review_actions(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "ctrl+p", *"only")
        # the palette searches asynchronously: wait for its first hit to be highlighted
        await until(pilot, lambda: _palette_ready(app))
        await press(app, pilot, "enter")
        assert app.filter.failing_only and table_keys(app) == FAILING
        # the provider also offers each mistake and each submission
        provider = ReviewCommands(app.screen)
        hits = {str(hit.text): hit async for hit in provider.search("grace")}
        assert "Open grace" in hits
        names = [str(hit.text) async for hit in provider.search("mistake transposed")]
        assert "Filter: mistake transposed" in names
        discovered = [str(hit.text) async for hit in provider.discover()]
        assert (
            "Re-grade selected submission" in discovered
            and "Override score of selected submission" in discovered
        )
        hits["Open grace"].command()
        await settle(app, pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.result.submission == "grace"


@sync
async def test_keys_can_be_remapped_by_id_and_help_lists_them(classroom: Path) -> None:
    app = ReviewApp(out=classroom, keymap={"next-failing": "j"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await press(app, pilot, "j")
        assert app.selected == "bob"
        await press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help Static").render())
        for binding_id in (
            "next-failing",
            "prev-failing",
            "filter-failing",
            "filter-mistake",
            "filter-status",
            "search",
            "sort",
            "regrade",
            "override",
            "comment",
        ):
            assert f"({binding_id})" in text
        assert any(line.split()[:2] == ["j", "Next"] for line in text.splitlines())
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


@sync
async def test_check_review_shows_one_result_and_regrades_it_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gradgrader check FILE --review``: no results folder; re-grading works, nothing is written."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(
        ROOT / "assignments/softmax/samples/sign-flipped/softmax.py", tmp_path / "softmax.py"
    )
    checked = dict(CLASS[1], submission="softmax", path="softmax.py")
    run = {
        "assignment_path": str(ROOT / "assignments/softmax"),
        "rubric": str(ROOT / "rubrics/softmax.toml"),
        "check_path": "softmax.py",
        "strict_sandbox": False,
    }
    app = ReviewApp(results=[checked], run=run)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert table_keys(app) == ["softmax"]
        await press(app, pilot, "e")  # overrides need a results folder: a warning, no dialog
        assert not isinstance(app.screen, EditDialog)
        await press(app, pilot, "g")
        assert (
            app.results["softmax"].score == 7.25 and app.results["softmax"].max_score == 10.0
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["softmax.py"]


# --- snapshots --------------------------------------------------------------------------------


@pytest.fixture
def svg(request: pytest.FixtureRequest) -> Any:
    """syrupy's ``snapshot`` with its SVG extension, one file per snapshot in
    tests/snapshots/test_tui_app/ named after the test (a second snapshot in the same
    test gets ``.1``). Only these tests need syrupy; without it they are skipped."""
    pytest.importorskip("syrupy")
    from syrupy.extensions.image import SVGImageSnapshotExtension

    class SVGSnapshots(SVGImageSnapshotExtension):
        @classmethod
        def dirname(cls, *, test_location: Any) -> str:
            return str(SNAPSHOTS / test_location.basename)

    return request.getfixturevalue("snapshot").use_extension(SVGSnapshots)


async def screenshots(
    out: Path, *steps: tuple[str, ...], size: tuple[int, int] = (80, 24)
) -> list[str]:
    """An SVG screenshot after each group of keys. Animations off: a tab's underline
    slides to the tab chosen on a timer, and a screenshot taken before the slide ends
    (a slower moment) would differ from the snapshot by the underline alone."""
    app = ReviewApp(out=out)
    app.animation_level = "none"
    shots = []
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for keys in steps:
            await press(app, pilot, *keys)
            shots.append(app.export_screenshot(title="gradgrader review"))
    return shots


@sync
async def test_snapshot_table_and_overview(classroom: Path, svg: Any) -> None:
    table, overview = await screenshots(classroom, ("n",), ("o",))
    assert table == svg
    assert overview == svg


@sync
async def test_snapshot_table_wide(classroom: Path, svg: Any) -> None:
    (table,) = await screenshots(classroom, ("f",), size=(120, 30))
    assert table == svg


@sync
async def test_snapshot_detail_checks_source_and_output(classroom: Path, svg: Any) -> None:
    checks, source, output = await screenshots(classroom, ("n", "enter"), ("2",), ("3",))
    assert checks == svg
    assert source == svg
    # bob printed colour codes and an OSC title change: the text shows, the sequences do not
    assert "red" in output and "pwned" not in output and "\x1b" not in output
    assert output == svg


def _typed_quickly(app: ReviewApp, keys: list[str]) -> None:
    """Keys as a fast typist's terminal delivers them: all queued before any is handled
    (``pilot.press`` waits for the app after each key, which hid the bug)."""
    chars = {"enter": "\r", "backspace": "\x7f"}
    for key in keys:
        app.post_message(events.Key(key, chars.get(key, key)))


@sync
async def test_override_typed_quickly_with_a_backspace_saves_what_was_typed(classroom: Path) -> None:
    """"5⌫6⏎" typed fast saved 5: the Input inserted 5 and 6 at once but ran ⌫ and Enter
    only after they came back from the app, so ⌫ removed the 6 and Enter saved 5."""
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "down", "e")
        await dialog(app, pilot, EditDialog)
        _typed_quickly(app, ["5", "backspace", "6", "enter"])
        await until(pilot, lambda: not isinstance(app.screen, EditDialog))
        await settle(app, pilot)
    assert load_overrides(classroom)["bob"].score == 6.0


@sync
async def test_override_with_pilot_keys_5_backspace_6_enter_saves_6(classroom: Path) -> None:
    async with reviewing(classroom) as (app, pilot):
        await press(app, pilot, "down", "e")
        await dialog(app, pilot, EditDialog)
        await pilot.press("5", "backspace", "6", "enter")
        await settle(app, pilot)
    assert load_overrides(classroom)["bob"].score == 6.0


@sync
async def test_an_override_above_the_maximum_is_extra_credit_everywhere(classroom: Path) -> None:
    with_exports(classroom)
    app = ReviewApp(out=classroom)
    async with app.run_test(size=(100, 30)) as pilot:
        await override_bob(app, pilot, "6")  # bob: 3/5
        assert app.results["bob"].score == 6.0
        await press(app, pilot, "enter")
        head = str(app.screen.query_one("#detail-head").render())
        assert "3 → 6 (extra credit)" in head and "6/5" in head
    row = grades_rows(classroom)["bob"]
    assert (row["score"], row["max_score"]) == ("6", "5")
    feedback = (classroom / "feedback" / "bob.md").read_text(encoding="utf-8")
    assert "**Score: 6 / 5** (extra credit)" in feedback
    assert "from 3 to 6 (extra credit)" in feedback
    assert "bob,bob,,,6,5," in (classroom / "gradebook.csv").read_text(encoding="utf-8")


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
    async with reviewing(hostile_class) as (app, pilot):
        await press(app, pilot, "g")
        await settle(app, pilot)
        assert app.is_running  # [@click=app.quit] ran nothing, nothing crashed
        assert not app.regrading and app.results[HOSTILE].status == "graded"
        # notifications are markup: what the TA sees is the rendered text
        shown = [Text.from_markup(str(n.message)).plain for n in app._notifications]
        assert any(HOSTILE in message for message in shown), shown  # name as written
