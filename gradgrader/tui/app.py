"""The review app: a submissions table, a class overview and a submission's detail.

State lives on :class:`ReviewApp` (results, filter, sort, selection); screens read it
and call the app's actions, which the key bindings and the command palette share.
Loading, re-grading and writing files run in thread workers, so the UI never waits
on the disk or on a sandbox. Logic (filters, sorting, statistics, overrides,
re-grading) is in ``gradgrader.review`` and ``gradgrader.overrides``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.reactive import var
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
from gradgrader.errors import GradgraderError
from gradgrader.export import refresh_exports
from gradgrader.overrides import (
    EXTRA_CREDIT_LIMIT,
    Override,
    apply_overrides,
    grades_csv_with_overrides,
    is_extra_credit,
    load_overrides,
    parse_score,
    record_override,
)
from gradgrader.result import Result
from gradgrader.results import GRADES, atomic_write, read_results
from gradgrader.review import Filter, ResultJSON
from gradgrader.tui import views
from gradgrader.tui.similarity import SimilarityScreen


def _json(r: ResultJSON | Result) -> ResultJSON:
    """A result as its JSON (what the run folder's functions take)."""
    return r.to_json() if isinstance(r, Result) else r


def _markup_safe(text: str) -> str:
    """A name for a notification (Textual parses those as markup): cleaned, then escaped, so
    a folder called ``[@click=app.quit]`` is shown as written and never runs as an action."""
    return escape(review.clean(text))

FIRST_PAGE = 60  # rows read before the first screen: a tall terminal's worth
FILL_CHUNK = 250  # rows added to the table between two screen refreshes (~25 ms each)


def keymap_path() -> Path:
    """Where a user's key remapping lives: $GRADGRADER_KEYMAP, else the XDG config folder."""
    env = os.environ.get("GRADGRADER_KEYMAP")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "gradgrader" / "keymap.toml"


# --- command palette -------------------------------------------------------------------------


class ReviewCommands(Provider):
    """Every review action in the command palette, plus "Filter: mistake …" for each
    mistake of the class and "Open …" for each submission."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        app = self.app
        assert isinstance(app, ReviewApp)
        yield (
            "Show overview",
            "class statistics, score histogram, most common mistakes",
            app.action_overview,
        )
        yield "Show submissions table", "back to the list of submissions", app.action_show_table
        yield (
            "Search submissions",
            "type words to match ids, mistakes and messages",
            app.action_search,
        )
        yield (
            "Filter: failing only (toggle)",
            "show only submissions that need review",
            app.action_toggle_failing,
        )
        yield "Filter: by mistake…", "pick a mistake id", app.action_pick_mistake
        for status in (*review.STATUSES, None):
            yield (
                f"Filter: status {status or 'any'}",
                "graded, could not be loaded, or both",
                partial(app.set_status, status),
            )
        yield "Filter: clear all", "show every submission", app.action_clear_filters
        for key in review.SORT_KEYS:
            yield f"Sort by {key}", "order the table", partial(app.set_sort, key)
        yield "Sort: reverse order", "ascending ↔ descending", app.action_reverse_sort
        yield "Next failing submission", "jump to the next one to review", app.action_next_failing
        yield (
            "Previous failing submission",
            "jump to the previous one to review",
            app.action_prev_failing,
        )
        yield (
            "Re-grade selected submission",
            "grade its file again and record the new result",
            app.action_regrade,
        )
        yield (
            "Override score of selected submission",
            "recorded in overrides.jsonl and grades.csv",
            app.action_override,
        )
        yield (
            "Comment on selected submission",
            "recorded in overrides.jsonl and grades.csv",
            app.action_comment,
        )
        yield "Help: keys and filters", "what every key does", app.action_help
        yield "Show similar submissions", "pairs sharing code beyond the starter, side by side", app.action_similarity
        for mistake, n in app.stats.mistakes:
            yield (
                f"Filter: mistake {mistake}",
                f"{n} submission(s)",
                partial(app.set_mistake, mistake),
            )

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            if not name.startswith("Filter: mistake "):
                yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, ReviewApp)
        for name, help_text, callback in self._commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        for sid in list(app.results):
            name = f"Open {review.clean(sid)}"
            if (score := matcher.match(name)) > 0:
                yield Hit(
                    score * 0.9,
                    matcher.highlight(name),
                    partial(app.open_submission, sid),
                    text=name,
                )


# --- dialogs -------------------------------------------------------------------------------


class InOrderInput(Input):
    """An ``Input`` that applies every key in the order it was typed.

    Textual's ``Input`` inserts a typed character as soon as the key reaches it, but runs
    its bound keys (backspace, Enter, the arrows) only after the key has bubbled up to the
    app and come back as a binding. Typed quickly, "5⌫6⏎" therefore became "5", "56",
    then ⌫ removed the 6 and Enter saved 5. Here the input's own bindings run on arrival.
    """

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()  # and so Input's own handler is skipped
                    return
        # Printable keys: Input's own ``_on_key`` runs next (Textual calls each class's).


class EditDialog(ModalScreen[str | None]):
    """One line of text (a score, a comment): Enter saves, Escape cancels.
    ``validate`` returns an error sentence, or None when the text is acceptable."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def __init__(
        self,
        title: str,
        initial: str,
        hint: str,
        validate: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self._title, self._initial, self._hint, self._validate = title, initial, hint, validate

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self._title), id="dialog-title")
            yield InOrderInput(self._initial, id="dialog-input")
            yield Label("", id="dialog-error")
            yield Label(Text(self._hint), id="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        problem = self._validate(event.value) if self._validate else None
        if problem:
            self.query_one("#dialog-error", Label).update(Text(problem))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickDialog(ModalScreen[str | None]):
    """Pick one of a few values (a mistake id to filter by)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog-cancel")]

    def __init__(self, title: str, options: list[tuple[Text, str]]) -> None:
        super().__init__()
        self._title, self._options = title, options

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self._title), id="dialog-title")
            yield OptionList(
                *(Option(label, id=value) for label, value in self._options), id="picker"
            )
            yield Label("↑↓ choose · Enter apply · Esc cancel", id="dialog-hint")

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        picker.highlighted = 0
        picker.focus()

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


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
        app = self.app
        assert isinstance(app, ReviewApp)
        text = Text()
        text.append("gradgrader review — keys\n", style="bold")
        classes: dict[str, Any] = {
            "TableScreen": TableScreen,
            "DetailScreen": DetailScreen,
            "OverviewScreen": OverviewScreen,
            "ReviewApp": ReviewApp,
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


# --- screens -------------------------------------------------------------------------------


class SubmissionsTable(DataTable[Text]):
    """A DataTable whose columns all have fixed widths never needs to measure its cells;
    DataTable measures every new cell anyway, which is most of the cost of filling a large
    class. Skip it when no column is auto-sized."""

    def _update_column_widths(self, updated_cells: Any) -> None:
        if any(column.auto_width for column in self.columns.values()):
            super()._update_column_widths(updated_cells)


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
        app = self.app
        assert isinstance(app, ReviewApp)
        app.table_ready()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#table", DataTable)

    def action_open(self) -> None:
        app = self.app
        assert isinstance(app, ReviewApp)
        app.action_open()

    @on(DataTable.RowSelected, "#table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        app = self.app
        assert isinstance(app, ReviewApp)
        app.selected = str(event.row_key.value)
        app.action_open()

    @on(DataTable.RowHighlighted, "#table")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        app = self.app
        assert isinstance(app, ReviewApp)
        if event.row_key.value is not None:
            app.selected = str(event.row_key.value)

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        app = self.app
        assert isinstance(app, ReviewApp)
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
        app = self.app
        assert isinstance(app, ReviewApp)
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
        app = self.app
        assert isinstance(app, ReviewApp)
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
        app = self.app
        assert isinstance(app, ReviewApp)
        if event.option.id:
            app.show_only(Filter(mistake=event.option.id))

    def action_failing(self) -> None:
        app = self.app
        assert isinstance(app, ReviewApp)
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
        app = self.app
        assert isinstance(app, ReviewApp)
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


# --- the app -------------------------------------------------------------------------------


class ReviewApp(App[None]):
    """Review a class's results: ``ReviewApp(out=Path("OUT"))`` or ``ReviewApp(results=[...])``."""

    TITLE = "gradgrader review"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    COMMANDS = App.COMMANDS | {ReviewCommands}
    BINDINGS = [
        Binding("o", "overview", "Overview", id="overview"),
        Binding("v", "similarity", "Similarity", id="similarity", show=False),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit", show=False),
    ]

    filter: var[Filter] = var(Filter(), init=False)
    sort_key: var[str] = var("submission", init=False)
    sort_reverse: var[bool] = var(False, init=False)

    def __init__(
        self,
        out: Path | None = None,
        results: list[ResultJSON] | list[Result] | None = None,
        run: dict[str, Any] | None = None,
        keymap: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.out = out
        self.run_info: dict[str, Any] = run if run is not None else review.load_run(out)
        self._given = results
        self.raw: dict[str, ResultJSON] = {}  # as graded (results.jsonl), for grades.csv
        self.overrides: dict[str, Override] = {}
        self.results: dict[str, Result] = {}  # with overrides applied: what the UI shows
        self.view: list[Result] = []  # filtered and sorted
        self.stats = review.class_stats([])
        self.selected: str | None = None
        self.loading = results is None and out is not None
        self.expected = 0
        self.regrading: set[str] = set()
        self._write_lock = threading.Lock()
        if keymap is None:
            try:
                keymap = review.load_keymap(keymap_path())
            except GradgraderError:
                keymap = {}
        self.keymap = keymap
        if keymap:
            self.set_keymap(keymap)
        assignment = self.run_info.get("assignment") or (
            _json(results[0]).get("assignment") if results else ""
        )
        self.sub_title = " · ".join(str(x) for x in (assignment, out.name if out else "") if x)

    def get_default_screen(self) -> Screen[Any]:
        # The table is the base of the screen stack; overview, detail and dialogs go on top.
        return TableScreen()

    def on_mount(self) -> None:
        if self._given is not None:
            self._set_data(self._given, {})
        elif self.out is not None:
            # The first screenful is read here (tens of ms even for a large class); the
            # whole file, which takes longer, in a worker started once that screen is
            # painted (see first_rows_shown): a thread parsing JSON would hold the GIL
            # while the first frame is drawn.
            total, first = review.preview(self.out, max(FIRST_PAGE, self.size.height))
            self._show_preview(total, first)

    _load_started = False
    _frozen = False

    def on_unmount(self) -> None:
        if self._frozen:
            gc.unfreeze()  # hand everything back to the collector (tests run many apps)

    def first_rows_shown(self) -> None:
        """The table has its first rows: read the rest after this frame is on screen."""
        if self.loading and not self._load_started:
            self._load_started = True
            self.call_after_refresh(self._load)

    @property
    def table_screen(self) -> TableScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, TableScreen)
        return screen

    def _table_ready(self) -> bool:
        return (
            bool(self.screen_stack)
            and isinstance(self.screen_stack[0], TableScreen)
            and self.screen_stack[0].ready
        )

    # --- loading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        assert self.out is not None
        # Parsing a large class creates millions of objects that all stay alive: without
        # the collector running over them again and again it is about twice as fast.
        collecting = gc.isenabled()
        gc.disable()
        try:
            raw = read_results(self.out)
            raw.sort(key=lambda r: r["submission"])
            overrides = load_overrides(self.out)
        finally:
            if collecting:
                gc.enable()
        self.call_from_thread(self._set_data, raw, overrides)

    def _show_preview(self, total: int, first: list[Result]) -> None:
        if not self.loading:
            return
        self.expected = total
        self.results = {r.submission: r for r in first}
        self._refresh_view()

    def _set_data(self, given: list[ResultJSON] | list[Result], overrides: dict[str, Override]) -> None:
        raw = [_json(r) for r in given]
        self.loading = False
        if self.out is not None and not self._frozen:
            gc.freeze()  # the results live as long as the app: keep later collections short
            self._frozen = True
        self.raw = {r["submission"]: r for r in raw}
        self.overrides = dict(overrides)
        # the edge: typed once here, the screens only read the typed results
        self.results = {r["submission"]: Result.from_json(r) for r in apply_overrides(raw, overrides)}
        self.expected = len(self.results)
        self.stats = review.class_stats(list(self.results.values()))
        self._refresh_view()
        for screen in self.screen_stack:
            if isinstance(screen, OverviewScreen):
                screen.refresh_stats()

    # --- the view (filter + sort) -----------------------------------------------------

    def watch_filter(self) -> None:
        self._refresh_view()

    def watch_sort_key(self) -> None:
        self._refresh_view()

    def watch_sort_reverse(self) -> None:
        self._refresh_view()

    def table_ready(self) -> None:
        """The table screen is mounted: show what has been loaded so far."""
        self._refresh_view()

    def _refresh_view(self) -> None:
        shown = review.filter_results(self.results.values(), self.filter)
        self.view = review.sort_results(shown, self.sort_key, self.sort_reverse)
        if self.view and self.selected not in {r.submission for r in self.view}:
            self.selected = self.view[0].submission
        if not self._table_ready():
            return
        self.table_screen.rebuild(self.view)
        self._refresh_status()

    def _refresh_status(self) -> None:
        if not self._table_ready():
            return
        screen = self.table_screen
        t = Text()
        t.append(f"{len(self.view)}", style="bold")
        total = self.expected if self.loading else len(self.results)
        t.append(f"/{total} shown · ")
        t.append(self.filter.describe(), style="bold yellow" if self.filter.active else "")
        t.append(f" · sort {self.sort_key} {'↓' if self.sort_reverse else '↑'}")
        if self.loading:
            t.append(" · loading…", style="yellow")
        if self.regrading:
            t.append(f" · re-grading {len(self.regrading)}", style="cyan")
        screen.show_status(t)

    def current_id(self) -> str | None:
        """The submission the TA is looking at: the detail's, else the table's cursor row."""
        if isinstance(self.screen, DetailScreen):
            return self.screen.result.submission
        return self.selected

    def current(self) -> Result | None:
        sid = self.current_id()
        return self.results.get(sid) if sid is not None else None

    # --- actions (keys and command palette) ------------------------------------------

    def action_overview(self) -> None:
        if isinstance(self.screen, OverviewScreen):
            return
        self.action_show_table()
        self.push_screen(OverviewScreen())

    def action_show_table(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if isinstance(self.screen, TableScreen) and self.selected:
            self.screen.move_to(self.selected)

    def action_similarity(self) -> None:
        if not isinstance(self.screen, SimilarityScreen):
            self.action_show_table()
            self.push_screen(SimilarityScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "/" typed in a text box is a character, not a command
        return not (action == "search" and isinstance(self.focused, Input))

    def action_search(self) -> None:
        self.action_show_table()
        screen = self.table_screen
        # Focus now, not after a refresh (Widget.focus is deferred): keys typed right
        # after "/" must land in the search box, not run the table's one-key actions.
        screen.set_focus(screen.query_one("#search", Input))

    def action_open(self) -> None:
        r = self.current()
        if r is None:
            return
        if isinstance(self.screen, DetailScreen):
            self.screen.show(r)
        else:
            self.push_screen(DetailScreen(r))

    def open_submission(self, sid: str) -> None:
        if sid not in self.results:
            return
        if sid not in {r.submission for r in self.view}:
            self.filter = Filter()
        self.selected = sid
        self.action_show_table()
        self.table_screen.move_to(sid)
        self.action_open()

    def _step(self, step: int) -> None:
        if not self.view:
            return
        ids = [r.submission for r in self.view]
        here = self.current_id()
        if here in ids:
            found = review.step_failing(self.view, ids.index(here), step)
        else:  # nothing selected: start from the first (or last) row itself
            found = review.step_failing(self.view, -1 if step > 0 else len(ids), step)
        if found is None:
            self.notify("no other failing submission under this filter", severity="information")
            return
        self.selected = ids[found]
        self.table_screen.move_to(self.selected)
        if isinstance(self.screen, DetailScreen):
            self.screen.show(self.view[found])

    def action_next_failing(self) -> None:
        self._step(1)

    def action_prev_failing(self) -> None:
        self._step(-1)

    def action_toggle_failing(self) -> None:
        f = self.filter
        self.filter = Filter(not f.failing_only, f.mistake, f.status, f.text)

    def set_mistake(self, mistake: str | None) -> None:
        f = self.filter
        self.filter = Filter(f.failing_only, mistake, f.status, f.text)

    def set_status(self, status: str | None) -> None:
        f = self.filter
        self.filter = Filter(f.failing_only, f.mistake, status, f.text)

    def set_search(self, text: str) -> None:
        f = self.filter
        if f.text != text:
            self.filter = Filter(f.failing_only, f.mistake, f.status, text)

    def set_sort(self, key: str) -> None:
        self.sort_key = key

    def action_cycle_status(self) -> None:
        order: list[str | None] = [None, *review.STATUSES]
        self.set_status(order[(order.index(self.filter.status) + 1) % len(order)])

    def action_cycle_sort(self) -> None:
        keys = review.SORT_KEYS
        self.sort_key = keys[(keys.index(self.sort_key) + 1) % len(keys)]

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse

    def action_clear_filters(self) -> None:
        self.show_only(Filter())

    def show_only(self, new: Filter) -> None:
        """Replace every filter (the search box too) and show the table."""
        self.filter = new
        if self._table_ready():
            self.table_screen.query_one("#search", Input).value = new.text
        self.action_show_table()

    def action_pick_mistake(self) -> None:
        options = [(Text("(any mistake)", style="dim"), "")]
        options += [
            (views.mistake_line(m, n, self.stats.total, 44), m) for m, n in self.stats.mistakes
        ]

        def chosen(value: str | None) -> None:
            if value is not None:
                self.set_mistake(value or None)

        self.push_screen(PickDialog("Show submissions with the mistake…", options), chosen)

    # --- re-grade ----------------------------------------------------------------------

    def _busy_loading(self) -> bool:
        if self.loading:
            self.notify("still loading the results: try again in a moment", severity="warning")
        return self.loading

    def action_regrade(self) -> None:
        r = self.current()
        if r is None or self._busy_loading():
            return
        sid = r.submission
        if sid in self.regrading:
            self.notify(f"{_markup_safe(sid)} is already being re-graded")
            return
        self.regrading.add(sid)
        self._refresh_status()
        self.notify(f"re-grading {_markup_safe(sid)}…")
        self._regrade(dict(self.raw.get(sid) or r.to_json()))

    @work(thread=True, group="regrade")
    def _regrade(self, old: ResultJSON) -> None:
        sid = old["submission"]
        try:
            new = review.regrade(
                old, {**self.run_info, **({"out": str(self.out)} if self.out else {})}
            )
            if self.out is not None:
                review.append_result(self.out, new)
                self.raw[sid] = new
                self._write_grades(sid)
            else:
                self.raw[sid] = new
        except GradgraderError as exc:
            self.call_from_thread(self._regrade_failed, sid, str(exc))
            return
        except Exception as exc:  # the UI must survive whatever re-grading hits
            self.call_from_thread(self._regrade_failed, sid, f"{type(exc).__name__}: {exc}")
            return
        self.call_from_thread(self._regraded, old, new)

    def _regrade_failed(self, sid: str, message: str) -> None:
        self.regrading.discard(sid)
        self._refresh_status()
        self.notify(
            f"could not re-grade {_markup_safe(sid)}: {_markup_safe(message)}",
            severity="error",
            timeout=8,
        )

    def _regraded(self, old: ResultJSON, new: ResultJSON) -> None:
        sid = new["submission"]
        self.regrading.discard(sid)
        self.raw[sid] = new
        self._replace(sid)
        before, after = review.num(old.get("score")), review.num(new.get("score"))
        self.notify(
            f"{_markup_safe(sid)} re-graded: {before} → {after}/{review.num(new.get('max_score'))}"
        )

    def _replace(self, sid: str) -> None:
        """Re-apply the override of ``sid`` and show its new state everywhere."""
        raw = self.raw.get(sid)
        if raw is None:
            return
        r = Result.from_json(apply_overrides([raw], self.overrides)[0])
        self.results[sid] = r
        self.stats = review.class_stats(list(self.results.values()))
        self.view = [r if v.submission == sid else v for v in self.view]
        self.table_screen.update_row(r, self.view)
        self._refresh_status()
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen) and screen.result.submission == sid:
                screen.show(r)
            elif isinstance(screen, OverviewScreen):
                screen.refresh_stats()

    # --- overrides -----------------------------------------------------------------------

    def _need_out(self) -> bool:
        if self._busy_loading():
            return False
        if self.out is None:
            self.notify(
                "overrides are stored next to a class's results: use gradgrader review OUT",
                severity="warning",
            )
            return False
        return True

    def action_override(self) -> None:
        r = self.current()
        if r is None or not self._need_out():
            return
        sid = r.submission
        o = self.overrides.get(sid)
        top = review.max_of(r)

        def validate(text: str) -> str | None:
            try:
                parse_score(text, top)
            except ValueError as exc:
                return str(exc)
            return None

        def done(text: str | None) -> None:
            if text is not None:
                self._record(sid, parse_score(text, top), o.comment if o else "")

        self.push_screen(
            EditDialog(
                f"Override the score of {review.clean(sid)} (graded {review.num(review.original_score(r))}/{review.num(top)})",
                "" if o is None or o.score is None else review.num(o.score),
                f"Enter saves · up to {review.num(EXTRA_CREDIT_LIMIT * top)} for extra credit · "
                "blank keeps the grader's score · Esc cancels",
                validate,
            ),
            done,
        )

    def action_comment(self) -> None:
        r = self.current()
        if r is None or not self._need_out():
            return
        sid = r.submission
        o = self.overrides.get(sid)

        def done(text: str | None) -> None:
            if text is not None:
                self._record(sid, o.score if o else None, text)

        self.push_screen(
            EditDialog(
                f"Comment on {review.clean(sid)}",
                o.comment if o else "",
                "Enter saves · blank removes the comment · Esc cancels",
            ),
            done,
        )

    def _record(self, sid: str, score: float | None, comment: str) -> None:
        self._save_override(sid, score, comment)

    @work(thread=True, group="io")
    def _save_override(self, sid: str, score: float | None, comment: str) -> None:
        assert self.out is not None
        try:
            entry = record_override(self.out, sid, score, comment)
            if entry.empty:
                self.overrides.pop(sid, None)
            else:
                self.overrides[sid] = entry
            self._write_grades(sid)
        except (OSError, ValueError) as exc:
            self.call_from_thread(self.notify, f"could not save: {exc}", severity="error")
            return
        self.call_from_thread(self._overridden, sid, entry)

    def _overridden(self, sid: str, entry: Override) -> None:
        self._replace(sid)
        r = self.results.get(sid)
        extra = (
            ", extra credit"
            if r is not None and is_extra_credit(entry.score, review.max_of(r))
            else ""
        )
        what = (
            "override removed"
            if entry.empty
            else (
                f"score {review.num(entry.score)}{extra}" if entry.score is not None else "comment saved"
            )
        )
        self.notify(f"{_markup_safe(sid)}: {what} (grades.csv, gradebook and feedback updated)")

    def _write_grades(self, sid: str) -> None:
        """Rewrite grades.csv — and the gradebook and ``sid``'s feedback file, when the
        grade run wrote them — from memory (re-reading a large results.jsonl would be
        slow); serialised so two workers never interleave their snapshots."""
        assert self.out is not None
        with self._write_lock:
            rows = list(self.raw.values())
            text = grades_csv_with_overrides(rows, dict(self.overrides))
            atomic_write(self.out / GRADES, text)
            refresh_exports(self.out, rows, only={sid})
