"""The command palette's review actions, and where a user's key remapping lives."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from gradgrader import review

if TYPE_CHECKING:  # for the type checker only: the app imports these modules
    from gradgrader.tui.app import ReviewApp


def keymap_path() -> Path:
    """Where a user's key remapping lives: $GRADGRADER_KEYMAP, else the XDG config folder."""
    env = os.environ.get("GRADGRADER_KEYMAP")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "gradgrader" / "keymap.toml"


class ReviewCommands(Provider):
    """Every review action in the command palette, plus "Filter: mistake …" for each
    mistake of the class and "Open …" for each submission."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        app = cast("ReviewApp", self.app)
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
        app = cast("ReviewApp", self.app)
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
