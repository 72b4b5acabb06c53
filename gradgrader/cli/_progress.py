"""A progress display for ``grade``: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time

from gradgrader.cli._shared import err


class Progress:
    """A rich progress bar on a terminal; plain periodic lines otherwise (CI logs)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.done, self.start = total, 0, time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self.bar = None
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=err.console, transient=False,
                auto_refresh=False,  # no refresh thread: grading forks worker processes
            )
            self.task = self.bar.add_task(label, total=total, rate="")
            self.bar.start()

    def advance(self, submission: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        rate = f"{self.done / elapsed:.1f} sub/s" if elapsed > 0 else ""
        if self.bar is not None:
            self.bar.update(self.task, advance=1, rate=rate)
            self.bar.refresh()
        elif self.done == self.total or time.monotonic() - self._last > 2.0:
            self._last = time.monotonic()
            err.print(f"graded {self.done}/{self.total} ({rate}), last: {submission}", highlight=False, markup=False)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()

