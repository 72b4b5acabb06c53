"""Widgets the review screens and dialogs share: a search box that keeps keys in order,
and a submissions table that never measures its cells."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import (
    DataTable,
    Input,
)


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


class SubmissionsTable(DataTable[Text]):
    """A DataTable whose columns all have fixed widths never needs to measure its cells;
    DataTable measures every new cell anyway, which is most of the cost of filling a large
    class. Skip it when no column is auto-sized."""

    def _update_column_widths(self, updated_cells: Any) -> None:
        if any(column.auto_width for column in self.columns.values()):
            super()._update_column_widths(updated_cells)
