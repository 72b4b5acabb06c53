"""What the commands share without typer: the stderr console, gradgrader's errors as
one line and exit code 2, loading an assignment and probing the sandbox.

Imports neither typer nor rich (``check FILE`` runs without typer: :mod:`gradgrader.cli`).
Rich prints a message to a pipe or a file (a student's ``check --json``, a CI log) as
the plain text it was given: importing it only for that cost ~20 ms of a student's
check (#17). A message therefore goes through rich only where rich would change it — a
terminal, or what rich takes for one (``FORCE_COLOR``, ``TTY_COMPATIBLE``), a
``COLUMNS`` width to wrap at, a tab, a control character — and is written as it is
everywhere else: the same bytes (``tests/test_cli_shared.py`` compares the two).
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gradgrader.errors import GradgraderError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from gradgrader.rubric import Rubric
    from gradgrader.sandbox.layers import Isolation
    from gradgrader.spec import Assignment


class Messages:
    """The stderr console of the commands: ``print`` as rich's ``Console.print``
    (markup off unless asked), ``error`` for gradgrader's one-line errors, and
    :attr:`console` for what needs rich itself (a progress bar).

    As the rich console it replaces, it decides once, when made (on import), whether a
    message is kept on one line: not in a terminal and no ``COLUMNS`` to wrap at."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._console: Console | None = None
        # Piped or in CI: a message stays one line, as the results on stdout do
        # (render.output_console); a terminal still wraps at its width.
        self._one_line = not self._terminal() and not environ.get("COLUMNS")

    @property
    def console(self) -> Console:
        """Rich's console on stderr, made on first use."""
        if self._console is None:
            from rich.console import Console

            # No emoji codes either: a path such as ``hw:fire:1.py`` is printed as it is
            # (and rich's table of emoji names is never loaded on start-up).
            console = Console(stderr=True, highlight=False, emoji=False)
            if self._one_line:
                console.width = 100_000
            self._console = console
        return self._console

    def _terminal(self) -> bool:
        """Whether rich takes stderr for a terminal now: ``TTY_COMPATIBLE``, then
        ``FORCE_COLOR``, then the stream's ``isatty`` (never under IPython, whose
        display rich handles otherwise: treated as a terminal here, so rich decides)."""
        if getattr(builtins, "get_ipython", None) is not None:
            return True
        if self._console is not None:
            return self._console.is_terminal
        environ = self._environ
        tty = environ.get("TTY_COMPATIBLE", "")
        if tty in ("0", "1"):
            return tty == "1"
        force = environ.get("FORCE_COLOR")
        if force is not None:
            return force != ""
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def as_plain_text(self) -> bool:
        """Whether rich would print a message here exactly as its text."""
        return self._one_line and not self._terminal()

    def print(self, text: str, style: str | None = None, highlight: bool = False, markup: bool = False,
              soft_wrap: bool = False) -> None:
        """``Console.print(text, …)``: as it is where rich would print it so, else by rich."""
        if not markup and not highlight and _plain(text) and self.as_plain_text():
            sys.stderr.write(text + "\n")
            return
        self.console.print(text, style=style, highlight=highlight, markup=markup, soft_wrap=soft_wrap)

    def error(self, message: str) -> None:
        """``gradgrader: MESSAGE``, the prefix in bold red on a terminal."""
        if _plain(message) and self.as_plain_text():
            sys.stderr.write(f"gradgrader: {message}\n")
            return
        from rich.markup import escape

        # The message quotes TOML like [checks."id"]: escape it, or rich takes it for markup.
        self.console.print(f"[bold red]gradgrader:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)


def _plain(text: str) -> bool:
    """Text rich prints unchanged: printable characters and newlines only (rich expands
    tabs and drops control characters such as a carriage return)."""
    return all(line.isprintable() for line in text.split("\n"))


err = Messages()


def say(message: str, style: str | None = None) -> None:
    """One plain line on stderr (no markup, no highlighting: paths and ids as they are)."""
    err.print(message, style=style, highlight=False, markup=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn gradgrader's errors into one readable line and exit code 2."""
    try:
        yield
    except GradgraderError as exc:
        err.error(str(exc))
        raise SystemExit(2) from None


def probe_isolation(allow_weak: bool, strict: bool) -> Isolation:
    """Probe the sandbox layers, say once which level is in force, refuse a weak one."""
    from gradgrader.sandbox.layers import probe, require_isolation

    err.print(probe().summary(), style="dim", highlight=False, markup=False)
    return require_isolation(allow_weak, strict)


def load(assignment: str, rubric: Path | None) -> tuple[Assignment, Rubric]:
    """The assignment and its rubric (``gradgrader.loading.load_for_grading``)."""
    from gradgrader.loading import load_for_grading

    return load_for_grading(assignment, rubric)
