"""What the review app writes to a results folder: a re-grade (appended to
``results.jsonl``) and a TA's override or comment (``overrides.jsonl``), each followed by
``grades.csv``, the gradebook and the feedback file being rewritten. Slow work runs in
thread workers; the UI never waits on the disk or a sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.markup import escape
from textual import work
from textual.app import App

from gradgrader import review
from gradgrader.errors import GradgraderError
from gradgrader.export import refresh_exports
from gradgrader.overrides import (
    EXTRA_CREDIT_LIMIT,
    Override,
    apply_overrides,
    grades_csv_with_overrides,
    parse_score,
    record_override,
)
from gradgrader.result import is_extra_credit
from gradgrader.results import GRADES, atomic_write
from gradgrader.review import ResultJSON
from gradgrader.tui.dialogs import EditDialog
from gradgrader.tui.screens import DetailScreen, OverviewScreen

if TYPE_CHECKING:  # the app is built on this class: its methods run on a ReviewApp
    from gradgrader.tui.app import ReviewApp


def markup_safe(text: str) -> str:
    """A name for a notification (Textual parses those as markup): cleaned, then escaped, so
    a folder called ``[@click=app.quit]`` is shown as written and never runs as an action."""
    return escape(review.clean(text))


class EditingActions(App[None]):
    """The review app's actions that change a results folder (``ReviewApp`` is built on
    this class; every method runs on it)."""

    # --- re-grade ----------------------------------------------------------------------

    def _busy_loading(self) -> bool:
        app = cast("ReviewApp", self)
        if app.loading:
            app.notify("still loading the results: try again in a moment", severity="warning")
        return app.loading

    def action_regrade(self) -> None:
        app = cast("ReviewApp", self)
        r = app.current()
        if r is None or app._busy_loading():
            return
        sid = r.submission
        if sid in app.regrading:
            app.notify(f"{markup_safe(sid)} is already being re-graded")
            return
        app.regrading.add(sid)
        app._refresh_status()
        app.notify(f"re-grading {markup_safe(sid)}…")
        app._regrade(dict(app.raw.get(sid) or r.to_json()))

    @work(thread=True, group="regrade")
    def _regrade(self, old: ResultJSON) -> None:
        app = cast("ReviewApp", self)
        sid = old["submission"]
        try:
            new = review.regrade(
                old, {**app.run_info, **({"out": str(app.out)} if app.out else {})}
            )
            if app.out is not None:
                review.append_result(app.out, new)
                app.raw[sid] = new
                app._write_grades(sid)
            else:
                app.raw[sid] = new
        except GradgraderError as exc:
            app.call_from_thread(app._regrade_failed, sid, str(exc))
            return
        except Exception as exc:  # the UI must survive whatever re-grading hits
            app.call_from_thread(app._regrade_failed, sid, f"{type(exc).__name__}: {exc}")
            return
        app.call_from_thread(app._regraded, old, new)

    def _regrade_failed(self, sid: str, message: str) -> None:
        app = cast("ReviewApp", self)
        app.regrading.discard(sid)
        app._refresh_status()
        app.notify(
            f"could not re-grade {markup_safe(sid)}: {markup_safe(message)}",
            severity="error",
            timeout=8,
        )

    def _regraded(self, old: ResultJSON, new: ResultJSON) -> None:
        app = cast("ReviewApp", self)
        sid = new["submission"]
        app.regrading.discard(sid)
        app.raw[sid] = new
        app._replace(sid)
        before, after = review.num(old.get("score")), review.num(new.get("score"))
        app.notify(
            f"{markup_safe(sid)} re-graded: {before} → {after}/{review.num(new.get('max_score'))}"
        )

    def _replace(self, sid: str) -> None:
        """Re-apply the override of ``sid`` and show its new state everywhere."""
        app = cast("ReviewApp", self)
        raw = app.raw.get(sid)
        if raw is None:
            return
        r = apply_overrides([raw], app.overrides)[0]
        app.results[sid] = r
        app.stats = review.class_stats(list(app.results.values()))
        app.view = [r if v.submission == sid else v for v in app.view]
        app.table_screen.update_row(r, app.view)
        app._refresh_status()
        for screen in app.screen_stack:
            if isinstance(screen, DetailScreen) and screen.result.submission == sid:
                screen.show(r)
            elif isinstance(screen, OverviewScreen):
                screen.refresh_stats()

    # --- overrides -----------------------------------------------------------------------

    def _need_out(self) -> bool:
        app = cast("ReviewApp", self)
        if app._busy_loading():
            return False
        if app.out is None:
            app.notify(
                "overrides are stored next to a class's results: use gradgrader review OUT",
                severity="warning",
            )
            return False
        return True

    def action_override(self) -> None:
        app = cast("ReviewApp", self)
        r = app.current()
        if r is None or not app._need_out():
            return
        sid = r.submission
        o = app.overrides.get(sid)
        top = review.max_of(r)

        def validate(text: str) -> str | None:
            try:
                parse_score(text, top)
            except ValueError as exc:
                return str(exc)
            return None

        def done(text: str | None) -> None:
            if text is not None:
                app._record(sid, parse_score(text, top), o.comment if o else "")

        app.push_screen(
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
        app = cast("ReviewApp", self)
        r = app.current()
        if r is None or not app._need_out():
            return
        sid = r.submission
        o = app.overrides.get(sid)

        def done(text: str | None) -> None:
            if text is not None:
                app._record(sid, o.score if o else None, text)

        app.push_screen(
            EditDialog(
                f"Comment on {review.clean(sid)}",
                o.comment if o else "",
                "Enter saves · blank removes the comment · Esc cancels",
            ),
            done,
        )

    def _record(self, sid: str, score: float | None, comment: str) -> None:
        app = cast("ReviewApp", self)
        app._save_override(sid, score, comment)

    @work(thread=True, group="io")
    def _save_override(self, sid: str, score: float | None, comment: str) -> None:
        app = cast("ReviewApp", self)
        assert app.out is not None
        try:
            entry = record_override(app.out, sid, score, comment)
            if entry.empty:
                app.overrides.pop(sid, None)
            else:
                app.overrides[sid] = entry
            app._write_grades(sid)
        except (OSError, ValueError) as exc:
            app.call_from_thread(app.notify, f"could not save: {exc}", severity="error")
            return
        app.call_from_thread(app._overridden, sid, entry)

    def _overridden(self, sid: str, entry: Override) -> None:
        app = cast("ReviewApp", self)
        app._replace(sid)
        r = app.results.get(sid)
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
        app.notify(f"{markup_safe(sid)}: {what} (grades.csv, gradebook and feedback updated)")

    def _write_grades(self, sid: str) -> None:
        """Rewrite grades.csv — and the gradebook and ``sid``'s feedback file, when the
        grade run wrote them — from memory (re-reading a large results.jsonl would be
        slow); serialised so two workers never interleave their snapshots."""
        app = cast("ReviewApp", self)
        assert app.out is not None
        with app._write_lock:
            rows = list(app.raw.values())
            text = grades_csv_with_overrides(rows, dict(app.overrides))
            atomic_write(app.out / GRADES, text)
            refresh_exports(app.out, rows, only={sid})
