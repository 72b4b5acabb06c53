"""The review app: state (results, filter, sort, selection), loading and the actions the
key bindings and the command palette share.

Screens (``screens``), dialogs (``dialogs``), the palette (``commands``) and the actions
that write to the results folder (``editing``) live in their own modules; this one ties
them together. Loading, re-grading and writing files run in thread workers, so the UI
never waits on the disk or on a sandbox. Logic (filters, sorting, statistics, overrides,
re-grading) is in ``gradgrader.review`` and ``gradgrader.overrides``.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input

from gradgrader import review
from gradgrader.errors import GradgraderError
from gradgrader.overrides import (
    Override,
    apply_overrides,
    load_overrides,
)
from gradgrader.result import Result
from gradgrader.results import read_results
from gradgrader.review import Filter, ResultJSON
from gradgrader.tui import views
from gradgrader.tui.commands import ReviewCommands, keymap_path
from gradgrader.tui.dialogs import EditDialog, PickDialog
from gradgrader.tui.editing import EditingActions
from gradgrader.tui.screens import (
    FILL_CHUNK,
    FIRST_PAGE,
    DetailScreen,
    HelpScreen,
    OverviewScreen,
    TableScreen,
)
from gradgrader.tui.similarity import SimilarityScreen
from gradgrader.tui.widgets import InOrderInput, SubmissionsTable

# Re-exported: tests and callers import these from here.
__all__ = [
    "FILL_CHUNK", "FIRST_PAGE", "DetailScreen", "EditDialog", "HelpScreen", "InOrderInput", "OverviewScreen",
    "PickDialog", "ReviewApp", "ReviewCommands", "SubmissionsTable", "TableScreen", "keymap_path",
]


def _typed(raw: list[ResultJSON], overrides: dict[str, Override]) -> dict[str, Result]:
    """The edge: results typed once, with the TA's overrides applied; the screens only
    read these."""
    return {r.submission: r for r in apply_overrides(raw, overrides)}


def _json(r: ResultJSON | Result) -> ResultJSON:
    """A result as its JSON (what the run folder's functions take)."""
    return r.to_json() if isinstance(r, Result) else r




# --- the app -------------------------------------------------------------------------------


class ReviewApp(EditingActions):
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
            typed = _typed(raw, overrides)  # here, off the UI thread: a large class takes a moment
        finally:
            if collecting:
                gc.enable()
        self.call_from_thread(self._set_data, raw, overrides, typed)

    def _show_preview(self, total: int, first: list[Result]) -> None:
        if not self.loading:
            return
        self.expected = total
        self.results = {r.submission: r for r in first}
        self._refresh_view()

    def _set_data(
        self,
        given: list[ResultJSON] | list[Result],
        overrides: dict[str, Override],
        typed: dict[str, Result] | None = None,
    ) -> None:
        raw = [_json(r) for r in given]
        self.loading = False
        if self.out is not None and not self._frozen:
            gc.freeze()  # the results live as long as the app: keep later collections short
            self._frozen = True
        self.raw = {r["submission"]: r for r in raw}
        self.overrides = dict(overrides)
        self.results = typed if typed is not None else _typed(raw, overrides)
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
