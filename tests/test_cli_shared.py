"""gradgrader/cli/_shared.py: the commands' stderr console writes a message as it is
wherever rich would print it so (a pipe, a file, a CI log), and leaves everything else
to rich (#17: importing rich took ~20 ms of a student's check)."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console
from rich.markup import escape

from gradgrader.cli._shared import Messages

MESSAGES = [
    "staging: the file runs in a copy of its folder's files, as grade stages them",
    "sandbox: strong (process, rlimits, namespaces, landlock, seccomp)",
    "assignment: softmax (chosen because the file defines softmax_loss, logsumexp) " + "and a long tail " * 12,
    "warning: [checks.\"softmax.value\"] quotes TOML like [bold]this[/]",
    "a path with :fire: emoji codes and ünïcödé — ∇ log det A = A⁻ᵀ",
    "two\nlines",
    "",
    "trailing spaces   ",
]
NOT_PLAIN = ["a\ttab", "a carriage\rreturn", "a bell\x07", "an escape \x1b[31mred"]


def _rich(text: str, **kw: object) -> str:
    """What the rich console on a pipe prints (as the commands' console made it)."""
    out = io.StringIO()
    console = Console(file=out, highlight=False, emoji=False, force_terminal=False, width=100_000)
    console.print(text, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _printed(monkeypatch: pytest.MonkeyPatch, say: object) -> str:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    say()  # type: ignore[operator]
    return out.getvalue()


@pytest.fixture
def piped(monkeypatch: pytest.MonkeyPatch) -> Messages:
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    return Messages()


@pytest.mark.parametrize("text", MESSAGES + NOT_PLAIN)
def test_a_message_on_a_pipe_is_what_rich_prints(piped: Messages, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    assert piped.as_plain_text()
    got = _printed(monkeypatch, lambda: piped.print(text, style="dim", highlight=False, markup=False))
    assert got == _rich(text, style="dim", markup=False)


@pytest.mark.parametrize("text", MESSAGES + NOT_PLAIN)
def test_an_error_on_a_pipe_is_what_rich_prints(piped: Messages, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    got = _printed(monkeypatch, lambda: piped.error(text))
    assert got == _rich(f"[bold red]gradgrader:[/] {escape(text)}", markup=True, soft_wrap=True)


def test_plain_messages_need_no_rich_and_others_go_through_it(piped: Messages, monkeypatch: pytest.MonkeyPatch) -> None:
    for text in MESSAGES:
        _printed(monkeypatch, lambda text=text: piped.print(text))
        piped.error(text)
    assert piped._console is None  # never made: rich need not be imported
    _printed(monkeypatch, lambda: piped.print(NOT_PLAIN[0]))
    assert piped._console is not None


@pytest.mark.parametrize("env", [{"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"}])
def test_what_rich_takes_for_a_terminal_goes_through_rich(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    messages = Messages()
    assert not messages.as_plain_text()
    assert messages.console.is_terminal  # rich agrees: styles and wrapping are rich's


def test_a_columns_width_goes_through_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "40")
    messages = Messages()
    assert not messages.as_plain_text()
    out = _printed(monkeypatch, lambda: messages.print("word " * 20))
    assert out.count("\n") > 1  # wrapped at 40 columns, as before


def test_a_tty_compatible_zero_is_a_pipe_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    monkeypatch.delenv("COLUMNS", raising=False)
    messages = Messages()
    assert messages.as_plain_text()
    assert not messages.console.is_terminal
