"""The ``gradgrader`` command: parses, calls the engine, renders. No grading logic here.

One module per group of commands (``student``: check and init; ``classroom``: grade;
``classwork``: review and similarity; ``authoring``: the course author's; ``machine``:
Gradescope and doctor); ``_app`` holds the Typer app and what they share, ``_commands``
registers the commands. This module imports none of them (nor typer) until it is asked
for ``app`` or :func:`main` runs: ``main`` starts a student's check's sandbox first
(:mod:`._early`), so that it comes up while typer and the grader are imported (#17).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from gradgrader._blas import BLAS_THREADS, one_blas_thread

if TYPE_CHECKING:
    from gradgrader.cli._commands import app

__all__ = ["BLAS_THREADS", "app", "main", "one_blas_thread", "run"]


def __getattr__(name: str) -> Any:
    if name == "app":  # the Typer app, with every command
        from gradgrader.cli._commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> Any:
    """The command, run in this process (the program is :func:`run`): a ``check``'s
    sandbox starts before typer is imported (and is closed if the command does not take
    it), then the app runs — for ``check``, the app holding only that command. A check
    with the usual options only (``check FILE [-a NAME] [--rubric TOML] [--json]
    [--failed] [--allow-weak-sandbox]``) runs without typer and click: importing them
    took ~20 ms of it, and rich (needed for a terminal's view only) ~20 ms more (#17).
    It exits as the app would (``SystemExit``), with the same output."""
    one_blas_thread()
    from gradgrader._compiled import RememberedCode
    from gradgrader.cli._early import parse_check, start_early

    # Dataclasses' methods from code remembered between runs (~20 ms of a check, #17):
    # installed as soon as a check's sandbox is spawned, or now.
    code = RememberedCode()
    early = None
    try:
        early = start_early(sys.argv[1:], then=code.install)
        code.install()
        line = parse_check(sys.argv[1:])
        if line is not None:
            from gradgrader.cli._checkrun import run_check

            raise SystemExit(run_check(*line, started=early))
        if sys.argv[1:2] == ["check"]:
            from gradgrader.cli._check import app as command
        else:
            from gradgrader.cli._commands import app as command
        return command(obj=early)
    finally:
        if early is not None:
            early.close()
        code.close()


def run() -> NoReturn:
    """The program (the ``gradgrader`` script, ``python -m gradgrader``): :func:`main`,
    then exit with its code. A ``check`` runs without the cyclic garbage collector until
    it has its result, and the interpreter is not torn down after it: tearing down numpy
    and the grader's modules took ~20 ms of a check's ~250 (#17). Only that is skipped:
    the output is flushed and the exit functions run as at a normal exit, and a check
    that leaves a thread running, or an exit code that is a message, exits normally."""
    check = sys.argv[1:2] == ["check"]
    if check:
        # A check allocates most of what it ever holds while it imports and grades, and
        # frees it at exit: collecting cycles meanwhile took ~10 ms. ``check`` turns the
        # collector back on for a --watch or the review UI (they run long); a single check
        # exits without it.
        gc.disable()
    try:
        code = main()
    except SystemExit as stop:
        code = stop.code
    if check:
        _exit_now(code)
    raise SystemExit(code)


def _exit_now(code: object) -> None:
    """``os._exit(code)`` once everything a normal exit does but the teardown is done;
    returns (for a normal exit) when that cannot be done here."""
    import atexit
    import threading

    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if not (code is None or isinstance(code, int)) or run_exit_functions is None or threading.active_count() > 1:
        return
    if not _flushed():
        return  # a closed pipe: the normal exit says so, as it always did
    run_exit_functions()  # once: they are not run again by a normal exit
    if _flushed():
        os._exit(code or 0)


def _flushed() -> bool:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return False
    return True
