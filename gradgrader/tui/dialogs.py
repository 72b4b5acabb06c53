"""Modal dialogs: type a score or comment, pick one of a list."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import (
    Input,
    Label,
    OptionList,
)
from textual.widgets.option_list import Option

from gradgrader.tui.widgets import InOrderInput


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
