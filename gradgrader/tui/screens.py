"""The review app's screens: the submissions table, the class overview, one submission's
detail, and the help screen listing every key. State lives on the app (``ReviewApp``);
screens read it and call its actions."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from gradgrader import review
from gradgrader.result import Result
from gradgrader.review import Filter
from gradgrader.tui import views

if TYPE_CHECKING:  # for the type checker only: the app imports these modules
    from gradgrader.tui.app import ReviewApp
from gradgrader.tui.commands import keymap_path
from gradgrader.tui.widgets import InOrderInput, SubmissionsTable

FIRST_PAGE = 60  # rows read before the first screen: a tall terminal's worth
FILL_CHUNK = 250  # rows added to the table between two screen refreshes (~25 ms each)


class TableScreen(Screen[None]):
    """The submissions: search box, filter line, table."""

    BINDINGS = [
        Binding("n", "app.next_failing", "Next ✘", id="next-failing"),
        Binding("p", "app.prev_failing", "Prev ✘", id="prev-failing"),
        # priority: handled as the key arrives, so the keys typed right after it already
        # find the search box focused (see ReviewApp.check_action for "/" inside it)
        Binding("slash", "app.search", "Search", id="search", priority=True),
        Binding("f", "app.toggle_failing", "Failing", id="filter-failing"),
        Binding("m", "app.pick_mistake", "Mistake", id="filter-mistake"),
        Binding("t", "app.cycle_status", "Status", id="filter-status", show=False),
        Binding("x", "app.clear_filters", "Clear filters", id="clear-filters", show=False),
        Binding("s", "app.cycle_sort", "Sort", id="sort", show=False),
        Binding("S", "app.reverse_sort", "Reverse sort", id="sort-reverse", show=False),
        Binding("g", "app.regrade", "Re-grade", id="regrade", show=False),
        Binding("e", "app.override", "Override", id="override", show=False),
        Binding("c", "app.comment", "Comment", id="comment", show=False),
        Binding("enter", "open", "Open", id="open", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✎")
        yield InOrderInput(
            placeholder="/ search ids, mistakes, messages, comments", id="search", compact=True
        )
        yield Static("", id="status")
        yield SubmissionsTable(id="table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    ready = False
    fill_generation = 0
    _widths: dict[str, int] = {}
    _shown: list[Result] = []

    def on_mount(self) -> None:
        self.ready = True
        self.query_one(DataTable).focus()
        app = cast("ReviewApp", self.app)
        app.table_ready()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#table", DataTable)

    def action_open(self) -> None:
        app = cast("ReviewApp", self.app)
        app.action_open()

    @on(DataTable.RowSelected, "#table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        app = cast("ReviewApp", self.app)
        app.selected = str(event.row_key.value)
        app.action_open()

    @on(DataTable.RowHighlighted, "#table")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        app = cast("ReviewApp", self.app)
        if event.row_key.value is not None:
            app.selected = str(event.row_key.value)

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        app = cast("ReviewApp", self.app)
        app.set_search(event.value)

    @on(Input.Submitted, "#search")
    def search_done(self) -> None:
        self.table.focus()

    def key_escape(self) -> None:
        if self.focused is self.query_one("#search", Input):
            self.table.focus()

    def show_status(self, text: Text) -> None:
        self.query_one("#status", Static).update(text)

    def rebuild(self, rows: list[Result]) -> None:
        """Refill the table with ``rows`` (clear then add: far faster than removing rows),
        the first screenful at once and the rest in chunks, keeping the selected
        submission under the cursor."""
        self.fill_generation += 1
        # a callable, not a coroutine: a fill cancelled before it starts leaves nothing un-awaited
        fill: Any = partial(self._fill, rows, self.fill_generation)
        self.run_worker(fill, group="fill", exclusive=True)

    def on_resize(self) -> None:
        # Column widths follow the terminal; refill once the resizing has settled.
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.2, self._resized)

    _resize_timer: Any = None

    def _resized(self) -> None:
        self._resize_timer = None
        if self._widths and views.column_widths(self._shown, self.app.size.width) != self._widths:
            self.rebuild(self._shown)

    async def _fill(self, rows: list[Result], generation: int) -> None:
        app = cast("ReviewApp", self.app)
        selected = app.selected
        table = self.table
        widths = views.column_widths(rows, self.app.size.width)
        shown, self._shown = self._shown, rows
        pos = 0
        if widths != self._widths:
            table.clear(columns=True)
            for key, width in widths.items():
                table.add_column(key, width=width, key=key)
            self._widths = widths
        elif table.row_count == len(shown) <= len(rows) and shown == rows[: len(shown)]:
            # the rows on screen are still right (the first page, then the whole class)
            pos = len(shown)
        else:
            table.clear()
        target = next((i for i, r in enumerate(rows) if r.submission == selected), 0)
        while pos < len(rows):
            end = min(len(rows), pos + (FIRST_PAGE if pos == 0 else FILL_CHUNK))
            for r in rows[pos:end]:
                table.add_row(*views.table_row(r, widths), key=r.submission)
            pos = end
            if target < pos and table.cursor_row != target:
                table.move_cursor(row=target, animate=False)
            app.first_rows_shown()
            if pos < len(rows):
                await asyncio.sleep(0)  # let the screen refresh and keys through
                if generation != self.fill_generation:
                    return
        app.first_rows_shown()  # also when there is no row at all

    def update_row(self, r: Result, rows: list[Result]) -> None:
        """Show ``r``'s new state; ``rows`` is the view it belongs to (refilled instead when
        the new cells need wider columns)."""
        if views.column_widths(rows, self.app.size.width) != self._widths:
            self.rebuild(rows)
            return
        self._shown = rows
        table = self.table
        try:
            for key, cell in zip(self._widths, views.table_row(r, self._widths), strict=True):
                table.update_cell(r.submission, key, cell)
        except Exception:  # not shown under the current filter
            pass

    def move_to(self, sid: str) -> None:
        try:
            index = self.table.get_row_index(sid)
        except Exception:
            return
        self.table.move_cursor(row=index, animate=False)


class OverviewScreen(Screen[None]):
    """Counts, mean and median, score histogram, most common mistakes (Enter filters by one)."""

    BINDINGS = [
        Binding("escape,o", "app.show_table", "Table", id="overview-close"),
        Binding("f", "failing", "Failing", id="overview-failing"),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✎")
        yield Static("", id="overview-summary")
        with Horizontal(id="overview-body"):
            with Vertical(id="histogram-box"):
                yield Label("Scores (graded submissions)", classes="section-title")
                yield Static("", id="histogram")
            with Vertical(id="mistakes-box"):
                yield Label("Mistakes (Enter: filter by it)", classes="section-title")
                yield OptionList(id="mistakes")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_stats()
        self.query_one(OptionList).focus()

    def refresh_stats(self) -> None:
        app = cast("ReviewApp", self.app)
        stats = app.stats
        summary = views.summary_text(stats)
        if app.loading:
            summary.append(f"\nloading… {len(app.results)} of {app.expected} read", style="yellow")
        self.query_one("#overview-summary", Static).update(summary)
        width = max(24, self.app.size.width // 2 - 4)
        self.query_one("#histogram", Static).update(views.histogram_view(stats, width))
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        if stats.mistakes:
            options.add_options(
                Option(views.mistake_line(m, n, stats.total, width), id=m)
                for m, n in stats.mistakes
            )
        else:
            options.add_option(
                Option(Text("no mistake recognised", style="dim"), id="", disabled=True)
            )
        options.highlighted = (
            highlighted if highlighted is not None and highlighted < options.option_count else 0
        )

    @on(OptionList.OptionSelected, "#mistakes")
    def mistake_selected(self, event: OptionList.OptionSelected) -> None:
        app = cast("ReviewApp", self.app)
        if event.option.id:
            app.show_only(Filter(mistake=event.option.id))

    def action_failing(self) -> None:
        app = cast("ReviewApp", self.app)
        app.show_only(Filter(failing_only=True))


class DetailScreen(Screen[None]):
    """One submission: header, then tabs for its checks, source and output."""

    BINDINGS = [
        Binding("escape,backspace", "app.show_table", "Back", id="detail-back"),
        Binding("n", "app.next_failing", "Next ✘", id="detail-next-failing"),
        Binding("p", "app.prev_failing", "Prev ✘", id="detail-prev-failing"),
        Binding("1", "tab('checks')", "Checks tab", id="tab-checks", show=False),
        Binding("2", "tab('source')", "Source tab", id="tab-source", show=False),
        Binding("3", "tab('output')", "Output tab", id="tab-output", show=False),
        Binding("g", "app.regrade", "Re-grade", id="detail-regrade"),
        Binding("e", "app.override", "Override", id="detail-override"),
        Binding("c", "app.comment", "Comment", id="detail-comment"),
    ]

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="✎")
        yield Static("", id="detail-head")
        # imported here: the first screen (the table) should not pay for the tabs
        from textual.widgets import TabbedContent, TabPane

        with TabbedContent(id="detail-tabs", initial="checks"):
            with TabPane("1 Checks", id="checks"), VerticalScroll(id="checks-scroll"):
                yield Static("", id="checks-body")
            with TabPane("2 Source", id="source"), ScrollableContainer(id="source-scroll"):
                yield Static("", id="source-body")
            with TabPane("3 Output", id="output"), VerticalScroll(id="output-scroll"):
                yield Static("", id="output-body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show(self.result)
        self.query_one("#checks-scroll").focus()

    def show(self, result: Result) -> None:
        """Display ``result`` (re-used when n/p move to another submission)."""
        app = cast("ReviewApp", self.app)
        self.result = result
        path, code = review.read_source(result.to_json(), app.run_info)
        self.query_one("#detail-head", Static).update(
            views.detail_header(result, str(path) if path else None)
        )
        self.query_one("#checks-body", Static).update(views.checks_view(result))
        first_line = 0
        if code is None:
            where = result.path or "(no path recorded)"
            self.query_one("#source-body", Static).update(
                Text(f"source not found: {review.clean(where)}", style="dim")
            )
        else:
            lines = review.highlight_lines(code, review.failing_functions(result))
            first_line = min(lines, default=0)
            self.query_one("#source-body", Static).update(views.source_view(code, lines))
        self.query_one("#output-body", Static).update(views.output_view(result.output))
        for scroll in ("#checks-scroll", "#output-scroll"):
            self.query_one(scroll).scroll_home(animate=False)
        self._source_line = first_line
        self._scroll_source()

    def _scroll_source(self) -> None:
        source = self.query_one("#source-scroll")
        self.call_after_refresh(source.scroll_to, 0, max(0, self._source_line - 3), animate=False)

    def on_tabbed_content_tab_activated(self, event: Any) -> None:
        if event.pane.id == "source":
            self._scroll_source()

    _source_line = 0

    def action_tab(self, tab: str) -> None:
        tabs: Any = self.query_one("#detail-tabs")
        tabs.active = tab
        self.query_one(f"#{tab}-scroll").focus()


class HelpScreen(ModalScreen[None]):
    """Every key, generated from the bindings (so a remapped key shows as remapped)."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help-close")]

    SECTIONS = (
        ("Submissions table", "TableScreen"),
        ("Submission detail", "DetailScreen"),
        ("Overview", "OverviewScreen"),
        ("Anywhere", "ReviewApp"),
    )

    def compose(self) -> ComposeResult:
        app = cast("ReviewApp", self.app)
        text = Text()
        text.append("gradgrader review — keys\n", style="bold")
        classes: dict[str, Any] = {
            "TableScreen": TableScreen,
            "DetailScreen": DetailScreen,
            "OverviewScreen": OverviewScreen,
            "ReviewApp": type(app),
        }
        for title, name in self.SECTIONS:
            text.append(f"\n{title}\n", style="bold underline")
            for b in classes[name].BINDINGS:
                if not isinstance(b, Binding):
                    continue
                keys = app.keymap.get(b.id or "", b.key)
                shown = ", ".join(
                    app.get_key_display(Binding(k.strip(), "")) for k in keys.split(",")
                )
                text.append(f"  {shown:<14}", style="bold cyan")
                text.append(f"{b.description or b.action}")
                if b.id:
                    text.append(f"  ({b.id})", style="dim")
                text.append("\n")
        text.append(
            "\nFilters combine: failing only, one mistake id, one status, and the search words "
            "(all must match the id, mistakes, load message, failing checks or TA comment). "
            "Failing means: not loadable, a failing check, or short of full marks — judged on the "
            "grader's findings, so an override does not hide it.\n"
            "\nRe-grading appends the new result to results.jsonl; overrides and comments go to "
            "overrides.jsonl; grades.csv is rewritten after each. Ctrl+P opens the command palette. "
            f'Keys can be remapped by binding id in {keymap_path()} ([keymap] next-failing = "j").\n',
            style="",
        )
        with VerticalScroll(id="help"):
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
