"""The review UI's similarity screens (issue 20), driven by keys with ``App.run_test()``:
``v`` lists the pairs ranked, Enter opens both files side by side with the matched
lines highlighted, Escape goes back."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from test_similarity import CLASS, PLANTED, graded_class
from test_tui_app import settle
from textual.widgets import DataTable, Label, Static

from gradgrader import similarity as sim
from gradgrader.tui.app import ReviewApp
from gradgrader.tui.similarity import PairScreen, SimilarityScreen


def class_out(tmp_path: Path) -> Path:
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(CLASS.glob("*.py"))}
    return graded_class(tmp_path, sources)


def table_rows(screen: SimilarityScreen) -> list[tuple[str, str]]:
    table = screen.query_one(DataTable)
    return [(str(table.get_row_at(i)[1]), str(table.get_row_at(i)[2])) for i in range(table.row_count)]


async def open_similarity(app: ReviewApp, pilot) -> SimilarityScreen:  # noqa: ANN001
    await settle(app, pilot)
    await pilot.press("v")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, SimilarityScreen)
    return screen


def test_v_lists_the_planted_pairs_and_enter_shows_them_side_by_side(tmp_path: Path) -> None:
    out = class_out(tmp_path)

    async def run() -> None:
        app = ReviewApp(out=out, keymap={})
        async with app.run_test(size=(160, 50)) as pilot:
            screen = await open_similarity(app, pilot)
            rows = table_rows(screen)
            assert {frozenset(r) for r in rows} == PLANTED
            assert "not a verdict" in str(screen.query_one("#similarity-note", Static).content)
            # computed (no CSV yet) and written for next time
            assert (out / sim.SIMILARITY).is_file()
            first = screen.matches[0]

            await pilot.press("enter")
            await settle(app, pilot)
            pair = app.screen
            assert isinstance(pair, PairScreen) and pair.match == first
            for side, ranges in (("a", first.a_lines), ("b", first.b_lines)):
                code = pair.query_one(f"#pair-code-{side}", Static).content
                assert code.highlight_lines == sim.lines_in(ranges)  # type: ignore[union-attr]
                assert code.highlight_lines  # type: ignore[union-attr]
                title = str(pair.query_one(f"#pair-title-{side}", Label).content)
                assert (first.a if side == "a" else first.b) in title
            assert "not a verdict" in str(pair.query_one("#pair-note", Static).content)

            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is screen
            await pilot.press("escape")
            await settle(app, pilot)
            assert not isinstance(app.screen, SimilarityScreen)

    asyncio.run(run())


def test_a_fresh_csv_is_read_and_a_stale_one_computed_again(tmp_path: Path) -> None:
    out = class_out(tmp_path)
    header = ",".join(sim.COLUMNS)
    only = f"1,ind_loops,ind_takealong,0.5,0.5,99,9,1-3,1-3,{CLASS / 'ind_loops.py'},{CLASS / 'ind_takealong.py'},\n"
    (out / sim.SIMILARITY).write_text(f"# {sim.NOTE}\n{header}\n{only}", encoding="utf-8")

    async def rows_shown() -> list[tuple[str, str]]:
        app = ReviewApp(out=out, keymap={})
        async with app.run_test(size=(160, 50)) as pilot:
            return table_rows(await open_similarity(app, pilot))

    # newer than results.jsonl: what it says is shown as it is
    assert asyncio.run(rows_shown()) == [("ind_loops", "ind_takealong")]
    # older than results.jsonl (the class was graded again): computed again
    stamp = (out / "results.jsonl").stat().st_mtime
    os.utime(out / sim.SIMILARITY, (stamp - 60, stamp - 60))
    assert {frozenset(r) for r in asyncio.run(rows_shown())} == PLANTED


def test_a_class_without_shared_code_says_so(tmp_path: Path) -> None:
    out = graded_class(tmp_path, {p.stem: p.read_text() for p in sorted(CLASS.glob("ind_*.py"))})

    async def run() -> None:
        app = ReviewApp(out=out, keymap={})
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_similarity(app, pilot)
            assert table_rows(screen) == []
            assert "no two files share code" in str(screen.query_one("#similarity-status", Label).content)
            await pilot.press("enter")  # nothing to open: stays
            await settle(app, pilot)
            assert app.screen is screen

    asyncio.run(run())
