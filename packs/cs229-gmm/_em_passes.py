"""Run a student's EM loop for a fixed number of passes (a helper of ``cs229-gmm``).

run_em fuses the E step and the M step in one loop and returns only the final w, so a
loop that stops too early hides steps that are right. A TA checks such a file by hand:
set the loop to run once, then twice, from the course's start, and compare w with one
and two EM iterations. This module does the same inside the sandbox, without touching
the student's file: ``capped`` is the factory of run_em's last argument (``sigma``); it
returns sigma unchanged and arms a trace function (``sys.settrace``) for the call that
follows — run_em itself — which

* finds run_em's outermost loop in its source (the longest loop statement of its body),
* counts the passes (arrivals at the loop body's first statement from outside it),
* at the start of pass ``passes + 1`` jumps to the first statement after the loop (as a
  ``break`` there would: the code after the loop, usually ``return w``, runs as written),
* and when a ``while`` loop ends before ``passes`` passes (a convergence test that stops
  it early), jumps back to the loop body, as a TA would patch the test by hand.

When none of this is possible (no loop of its own, a ``for`` loop that ends early, a
``return`` inside the loop, nothing after the loop) run_em raises :class:`LoopNotCapped`
with the reason, and the grader says so instead of judging the steps.

It runs in the student's sandboxed process only, with the student's own permissions.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from typing import Any


class LoopNotCapped(Exception):
    """The loop could not be run for the requested number of passes (the reason in words)."""


def capped(sigma: Any, passes: Any) -> Any:
    """``sigma`` unchanged; the next function called runs its loop ``passes`` times."""
    _arm(int(passes))
    return sigma


def _loop_lines(code: Any) -> tuple[int, int, int, int | None, bool]:
    """(loop line, loop end line, first body line, first line after the loop or None,
    is a while loop) of the outermost loop of the function ``code``, absolute lines."""
    try:
        lines, start = inspect.getsourcelines(code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError) as exc:
        raise LoopNotCapped(f"the source of {code.co_name} could not be read ({exc})") from None
    fn = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fn is None:
        raise LoopNotCapped(f"{code.co_name} is not a plain function")
    loops = [(i, s) for i, s in enumerate(fn.body) if isinstance(s, (ast.While, ast.For))]
    if not loops:
        raise LoopNotCapped(f"{code.co_name} has no loop of its own (is the EM loop in another function?)")
    i, loop = max(loops, key=lambda p: (p[1].end_lineno or p[1].lineno) - p[1].lineno)
    off = start - 1
    after = fn.body[i + 1].lineno + off if i + 1 < len(fn.body) else None
    end = (loop.body[0].end_lineno or loop.body[0].lineno) + off
    return loop.lineno + off, end, loop.body[0].lineno + off, after, isinstance(loop, ast.While)


def _arm(passes: int) -> None:
    state: dict[str, Any] = {"armed": True}

    def first_call(frame: Any, event: str, arg: Any) -> Any:
        if event != "call" or not state["armed"] or frame.f_code.co_filename == __file__:
            return None
        state["armed"] = False
        try:
            _, body_end, first, after, is_while = _loop_lines(frame.f_code)
        except LoopNotCapped:
            sys.settrace(None)
            raise
        name = frame.f_code.co_name
        count = 0
        last = None

        raising = False  # an exception is leaving the frame: let it, it is the student's

        def in_loop(frame: Any, event: str, arg: Any) -> Any:
            nonlocal count, last, raising
            if event == "exception":
                raising = True
                return in_loop
            if event == "return":
                sys.settrace(None)
                if count < passes and not raising:
                    raise LoopNotCapped(f"{name} returned during pass {count} of its loop, before pass {passes}")
                return None
            if event != "line":
                return in_loop
            raising = False  # caught: the function goes on
            line = frame.f_lineno
            if line == first and not (last is not None and first < last <= body_end):
                count += 1  # a new pass: arrived at the body's first statement from outside it
                if count == passes + 1:
                    if after is None:
                        sys.settrace(None)
                        raise LoopNotCapped(f"nothing follows the loop of {name} to stop it at")
                    last = line
                    frame.f_lineno = after
                    return in_loop
            elif after is not None and line == after and count < passes:
                if not is_while:
                    sys.settrace(None)
                    raise LoopNotCapped(f"the for loop of {name} ended after {count} pass(es) and cannot be continued")
                # The loop ended early: run it again, as a TA patches the test by hand.
                # A jump fires no line event for its target: the new pass starts here.
                count += 1
                last = first
                frame.f_lineno = first
                return in_loop
            last = line
            return in_loop

        return in_loop

    sys.settrace(first_call)
