"""The review app: a submissions table, a class overview and a submission's detail.

State lives on :class:`ReviewApp` (results, filter, sort, selection); screens read it
and call the app's actions, which the key bindings and the command palette share.
Loading, re-grading and writing files run in thread workers, so the UI never waits
on the disk or on a sandbox. Logic (filters, sorting, statistics, overrides,
re-grading) is in ``gradgrader.review`` and ``gradgrader.overrides``.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input

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
from gradgrader.tui.commands import ReviewCommands, keymap_path
from gradgrader.tui.dialogs import EditDialog, PickDialog
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


def _json(r: ResultJSON | Result) -> ResultJSON:
    """A result as its JSON (what the run folder's functions take)."""
    return r.to_json() if isinstance(r, Result) else r


def _markup_safe(text: str) -> str:
    """A name for a notification (Textual parses those as markup): cleaned, then escaped, so
    a folder called ``[@click=app.quit]`` is shown as written and never runs as an action."""
    return escape(review.clean(text))


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
