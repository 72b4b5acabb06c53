"""The similarity screens of ``gradgrader review``: pairs of submissions that share code,
ranked (``SimilarityScreen``), and one pair side by side with the matched lines
highlighted (``PairScreen``).

The pairs come from ``OUT/similarity.csv`` when it is newer than the results; otherwise
they are computed (``gradgrader.similarity``) in a thread worker and the CSV written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from gradgrader import similarity as sim
from gradgrader.result import Result
from gradgrader.review import clean, source_path

HERE = Path(__file__).resolve().parent


class ClassApp(Protocol):
    """What these screens read from the app (``ReviewApp`` has it)."""

    out: Path | None
    results: dict[str, Result]
    run_info: dict[str, Any]


def _class_app(app: Any) -> ClassApp | None:
    return app if all(hasattr(app, a) for a in ("out", "results", "run_info")) else None


def load_matches(out: Path | None, results: list[Result], run: dict[str, Any]) -> tuple[list[sim.Match], str]:
    """The class's matches and where they come from: ``OUT/similarity.csv`` when it is at
    least as new as ``results.jsonl``, else computed now (and written to OUT)."""
    if out is not None:
        csv_path = out / sim.SIMILARITY
        results_path = out / "results.jsonl"
        try:
            fresh = csv_path.stat().st_mtime >= results_path.stat().st_mtime
        except OSError:
            fresh = False
        if fresh:
            return sim.read_csv(csv_path), f"from {csv_path}"
        subs, _missing = sim.class_submissions(out)
        course, warning = sim.course_of_run(out)
    else:
        subs = [(r.submission, p) for r in results if (p := source_path(r.to_json(), run)) is not None]
        course, warning = [], "no results folder: the starter file is not subtracted"
    report = sim.analyse(subs, course)
    where = f"computed for {report.files} files"
    if out is not None:
        try:
            where += f", written to {sim.write_csv(out, report)}"
        except OSError:
            where += f" (could not write {out / sim.SIMILARITY})"
    if warning:
        where += f"; {warning}"
    return list(report.matches), where


def pair_view(code: str | None, lines: set[int], missing: str) -> Any:
    """One side of a pair: the file with line numbers, the matched lines highlighted."""
    if code is None:
        return Text(missing, style="dim")
    from rich.syntax import Syntax  # pygments: only when a pair is opened

    return Syntax(
        clean(code), "python", line_numbers=True, highlight_lines=lines, theme="ansi_dark",
        word_wrap=False, tab_size=4, background_color="default",
    )


class SimilarityScreen(Screen[None]):
    """Pairs of submissions sharing code beyond the starter, largest match first."""

    CSS_PATH = HERE / "similarity.tcss"
    BINDINGS = [
        Binding("escape,v", "app.show_table", "Table", id="similarity-close"),
        Binding("enter", "open_pair", "Side by side", id="similarity-open"),
        Binding("r", "recompute", "Recompute", id="similarity-recompute"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.matches: list[sim.Match] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✎")
        yield Static(Text(sim.NOTE, style="bold"), id="similarity-note")
        yield Label("comparing the class's files…", id="similarity-status")
        table: DataTable[Text] = DataTable(id="similarity-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (("#", "rank"), ("a", "a"), ("b", "b"), ("a %", "a_share"),
                           ("b %", "b_share"), ("tokens", "tokens"), ("", "archive")):
            table.add_column(label, key=key)
        table.focus()
        self.compute(recompute=False)

    @work(thread=True, exclusive=True, group="similarity")
    def compute(self, recompute: bool) -> None:
        app = _class_app(self.app)
        if app is None:
            return
        if recompute and app.out is not None:
            (app.out / sim.SIMILARITY).unlink(missing_ok=True)
        try:
            matches, where = load_matches(app.out, list(app.results.values()), app.run_info)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            self.app.call_from_thread(self.show_error, f"could not compare the files: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.show, matches, where)

    def show(self, matches: list[sim.Match], where: str) -> None:
        self.matches = matches
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            [
                Text(str(i), justify="right"), Text(clean(m.a)), Text(clean(m.b)),
                Text(f"{m.a_share:.0%}", justify="right"), Text(f"{m.b_share:.0%}", justify="right"),
                Text(str(m.matched), justify="right"),
                Text("archive" if m.archive else "", style="dim"),
            ]
            for i, m in enumerate(matches, 1)
        )
        status = (
            f"{len(matches)} pair(s) share code beyond the starter ({where}). Enter: side by side"
            if matches else f"no two files share code beyond the starter ({where})"
        )
        self.query_one("#similarity-status", Label).update(Text(status))

    def show_error(self, message: str) -> None:
        self.query_one("#similarity-status", Label).update(Text(message, style="red"))

    def action_recompute(self) -> None:
        self.query_one("#similarity-status", Label).update(Text("comparing the class's files…"))
        self.compute(recompute=True)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_pair()

    def action_open_pair(self) -> None:
        table = self.query_one(DataTable)
        if not self.matches or table.cursor_row < 0 or table.cursor_row >= len(self.matches):
            return
        self.app.push_screen(PairScreen(self.matches[table.cursor_row]))


class PairScreen(Screen[None]):
    """Two files side by side, the lines in matched regions highlighted on both."""

    CSS_PATH = HERE / "similarity.tcss"
    BINDINGS = [
        Binding("escape,backspace", "app.pop_screen", "Back", id="pair-back"),
        Binding("tab", "focus_next", "Other side", id="pair-other", show=False),
    ]

    def __init__(self, match: sim.Match) -> None:
        super().__init__()
        self.match = match

    def _code(self, sid: str, recorded: str) -> tuple[str | None, str]:
        path = Path(recorded) if recorded else None
        app = _class_app(self.app)
        if (path is None or not path.is_file()) and app is not None and sid in app.results:
            path = source_path(app.results[sid].to_json(), app.run_info)
        if path is None:
            return None, f"source not found: {clean(recorded or sid)}"
        try:
            return sim.read_code(path), ""
        except (OSError, ValueError) as exc:
            return None, f"cannot read {clean(str(path))}: {exc}"

    def compose(self) -> ComposeResult:
        m = self.match
        yield Header(show_clock=False, icon="✎")
        yield Static(Text(sim.NOTE, style="bold"), id="pair-note")
        with Horizontal(id="pair-body"):
            for side, sid, path, ranges, share in (
                ("a", m.a, m.a_path, m.a_lines, m.a_share),
                ("b", m.b, m.b_path, m.b_lines, m.b_share),
            ):
                code, missing = self._code(sid, path)
                with Vertical(classes="pair-side"):
                    title = Text(clean(sid), style="bold")
                    title.append(f"  {share:.0%} matched · lines {sim.format_lines(ranges) or '—'}", style="")
                    yield Label(title, id=f"pair-title-{side}", classes="pair-title")
                    with ScrollableContainer(id=f"pair-{side}", classes="pair-scroll"):
                        yield Static(pair_view(code, sim.lines_in(ranges), missing), id=f"pair-code-{side}")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for side, ranges in (("a", self.match.a_lines), ("b", self.match.b_lines)):
            first = ranges[0][0] if ranges else 1
            scroll = self.query_one(f"#pair-{side}")
            self.call_after_refresh(scroll.scroll_to, 0, max(0, first - 3), animate=False)
        self.query_one("#pair-a").focus()
