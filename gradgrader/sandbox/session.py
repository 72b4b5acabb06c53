"""One submission's time in the sandbox: load once, call many times, within a budget.

A :class:`Session` memoises calls (two checks asking for the same call on the same
inputs cost one call), restarts the student process after a crash or time-out so
the other functions are still graded, and never calls a function again once it has
killed its process (that failure is sticky for the function).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradgrader.callkey import call_key
from gradgrader.sandbox.model import (
    SUBMISSION_DECODE_CAP,
    ChildLimits,
    LoadReport,
    Problem,
    Returned,
)
from gradgrader.sandbox.process import StudentProcess
from gradgrader.sandbox.runner import Sandbox

MAX_RESTARTS = 4  # after this many process deaths the remaining calls are not attempted
# Bytes of returned arrays the memo keeps per submission. Beyond it, the oldest entries
# go (a call asked again is simply run again): a child answering 80 finite-difference
# calls with huge arrays cannot grow the grader by keeping them all (issue 16).
MEMO_BYTES = 64 << 20


def _size(value: Returned | Problem) -> int:
    if isinstance(value, Problem):
        return 256
    return 256 + sum(v.nbytes for v in value.values if v is not None)


class Session:
    """Calls into one submission, through a :class:`Sandbox`."""

    def __init__(
        self,
        sandbox: Sandbox,
        path: Path,
        module: str,
        functions: list[str],
        limits: ChildLimits,
        budget: float,
        folder: Path | None = None,
        helpers: list[Path] | None = None,
        output_cap: int = 64 << 10,
        packages: tuple[str, ...] = (),
        stubs: tuple[str, ...] = (),
        while_loading: Callable[[], None] | None = None,
        while_starting: Callable[[], None] | None = None,
    ) -> None:
        """``while_loading``, ``while_starting``: the grader's work to do while the process
        first starts, or its zygote still does (see :meth:`Sandbox.start`)."""
        self.sandbox, self.path, self.module = sandbox, path, module
        self.functions, self.limits, self.folder, self.helpers = functions, limits, folder, helpers
        self.packages, self.stubs = tuple(packages), tuple(stubs)
        self.output_cap = output_cap
        # The budget starts before staging: copying the student's folder is their time.
        self.deadline = time.monotonic() + budget
        self.budget = budget
        self._proc: StudentProcess | None = None
        self._memo: dict[str, Returned | Problem] = {}
        self._memo_bytes = 0
        self.decode_left = SUBMISSION_DECODE_CAP
        # Staged once for every process this submission runs (restarts reuse the copy).
        self.staged = sandbox.stage(path, folder, helpers)
        self._sticky: dict[str, Problem] = {}
        self._outputs: list[str] = []
        self._output_kept = 0
        self.restarts = 0
        self.calls = 0
        # Calls this submission's process was stopped for taking too long (each one a
        # full time-out of wall clock): at most one per function (issue 17).
        self.timeouts = 0
        self.load: LoadReport = self._start(while_loading, while_starting)

    def _start(
        self, while_loading: Callable[[], None] | None = None, while_starting: Callable[[], None] | None = None
    ) -> LoadReport:
        remaining = max(self.deadline - time.monotonic(), 0.5)
        self._proc = self.sandbox.start(
            self.path,
            self.module,
            self.functions,
            self.limits,
            folder=self.folder,
            helpers=self.helpers,
            # One cap for the whole submission, however often its process restarts.
            output_cap=max(self.output_cap - self._output_kept, 0),
            load_timeout=min(30.0, remaining),
            staged=self.staged,
            packages=self.packages,
            stubs=self.stubs,
            while_loading=while_loading,
            while_starting=while_starting,
        )
        self._proc.decode_left = self.decode_left
        return self._proc.load

    def _remember(self, key: str, value: Returned | Problem) -> None:
        """Keep a call's result, within MEMO_BYTES (oldest entries go first)."""
        old = self._memo.pop(key, None)
        if old is not None:
            self._memo_bytes -= _size(old)
        self._memo[key] = value
        self._memo_bytes += _size(value)
        while self._memo_bytes > MEMO_BYTES and len(self._memo) > 1:
            first = next(iter(self._memo))
            self._memo_bytes -= _size(self._memo.pop(first))

    def _retire(self) -> None:
        if self._proc is not None:
            self._proc.close()
            self._outputs.append(self._proc.output())
            self._output_kept += self._proc.output_kept
            self._proc = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def call(self, function: str, args: list[Any], outputs: list[str], timeout: float) -> Returned | Problem:
        """``function(*args)`` in the student's process (memoised); a Problem if it gave nothing."""
        return self.call_many(function, [args], outputs, timeout)[0]

    def call_many(
        self, function: str, arg_lists: list[list[Any]], outputs: list[str], timeout: float, want: list[str] | None = None
    ) -> list[Returned | Problem]:
        """Several calls in one round trip; ``timeout`` applies to each call, and none
        runs past the submission's budget. Memoised per call."""
        cache: dict[int, bytes] = {}
        want = None if not want or set(want) >= set(outputs) else sorted(want)
        suffix = "" if want is None else "|" + ",".join(want)
        keys = [call_key(function, args, cache) + suffix for args in arg_lists]
        if function in self._sticky:
            # Calls that finished before the function killed its process keep their
            # results; the others are not run again.
            never = self._never(function)
            return [self._memo.get(k, never) for k in keys]
        todo = sorted({i for i, k in enumerate(keys) if k not in self._memo}, key=lambda i: i)
        unique: dict[str, int] = {}
        for i in todo:
            unique.setdefault(keys[i], i)
        # Hits taken now: remembering the new results may evict old ones.
        fresh: dict[str, Returned | Problem] = {k: self._memo[k] for k in keys if k in self._memo}
        if unique:
            batch = list(unique.values())
            got = self._run(function, [arg_lists[i] for i in batch], outputs, timeout, want)
            for i, g in zip(batch, got):
                fresh[keys[i]] = g
                self._remember(keys[i], g)
        return [fresh[k] for k in keys]

    def prefetch(self, function: str, arg_lists: list[list[Any]], outputs: list[str], timeout: float) -> None:
        """Run calls the checks will ask for, in one round trip, and keep what they
        returned. Only an optimisation: if the batch times out or kills the process,
        nothing is kept and the checks make their calls one by one, as without it."""
        if function in self._sticky or not arg_lists:
            return
        restarts = self.restarts
        got = self.call_many(function, arg_lists, outputs, timeout)
        if any(isinstance(g, Problem) and g.kind == "timeout" for g in got):
            # A hang costs one time-out per function, not one per check (issue 17): the
            # time-out stays sticky, so the checks get its reason without calling again.
            # The calls skipped after it are forgotten: the checks are told "not run:
            # timed out earlier", as without a prefetch.
            first = self._sticky.get(function)
            for args, g in zip(arg_lists, got):
                k = call_key(function, args)
                if isinstance(g, Problem) and g is not first and k in self._memo:
                    self._memo_bytes -= _size(self._memo.pop(k))
            return
        if any(isinstance(g, Problem) and g.kind in {"crashed", "memory-limit"} for g in got):
            # A crash costs little time: the calls that returned before it are kept; the
            # failed one and those not run are left to the checks, in their own order, as
            # without a prefetch (one crashing case does not cost the others their chance).
            keys = [call_key(function, args) for args in arg_lists]
            for k, g in zip(keys, got):
                if isinstance(g, Problem) and k in self._memo:
                    self._memo_bytes -= _size(self._memo.pop(k))
            self._sticky.pop(function, None)
            self.restarts = restarts

    def descend(
        self, function: str, args: list[Any], outputs: list[str], timeout: float, *,
        variable: int, gradient: str, rate: float, steps: int, shapes: list[tuple[int, ...]],
    ) -> list[Returned | Problem]:
        """Gradient descent run by the student's process in one round trip (the checks'
        ``Caller.descend``); ``timeout`` per step, none past the submission's budget. Not
        memoised: the grader checks each answer against its own iterate."""
        if function in self._sticky:
            return [self._never(function)]
        return self._run_on(
            function, 1,
            lambda proc: proc.descend(
                function, args, outputs, timeout, variable=variable, gradient=gradient, rate=rate,
                steps=steps, shapes=shapes, deadline=self.deadline,
            ),
        )

    def _never(self, function: str) -> Problem:
        """What a call of a function that stopped its process earlier gets instead of running."""
        first = self._sticky[function]
        return Problem("timeout", f"not run: {function} timed out earlier ({first.message})") if first.kind == "timeout" else first

    def _run(
        self, function: str, arg_lists: list[list[Any]], outputs: list[str], timeout: float, want: list[str] | None = None
    ) -> list[Returned | Problem]:
        return self._run_on(
            function, len(arg_lists),
            lambda proc: proc.call_many(function, arg_lists, outputs, timeout, want, deadline=self.deadline),
        )

    def _run_on(
        self, function: str, count: int, request: Callable[[StudentProcess], list[Returned | Problem]]
    ) -> list[Returned | Problem]:
        """``request`` on the student's process (restarted if it died), within the
        submission's budget; ``count``: how many outcomes stand for "not run"."""
        remaining = self.remaining()
        if remaining <= 0:
            return [Problem("timeout", f"not run: the submission used up its {self.budget:.0f} s time budget")] * count
        if self._proc is None or self._proc.dead:
            if self._proc is not None:
                self._retire()
            if self.restarts >= MAX_RESTARTS:
                return [Problem("crashed", "not run: the submission's process died too many times")] * count
            self.restarts += 1
            load = self._start()
            if not load.ok:
                return [load.problem or Problem("crashed", "the submission no longer loads")] * count
        assert self._proc is not None
        self._proc.decode_left = self.decode_left
        got = request(self._proc)
        self.calls += len(got)
        self.decode_left = self._proc.decode_left
        if any(isinstance(g, Problem) and g.kind == "timeout" for g in got):
            # One batch stops at its first time-out (the calls after it are not run).
            self.timeouts += 1
        out: list[Returned | Problem] = []
        for g in got:
            if isinstance(g, Problem):
                if g.kind == "timeout" and self.remaining() <= 0:
                    g = Problem("timeout", f"stopped: the submission used up its {self.budget:.0f} s time budget")
                if self._proc.dead and not any(isinstance(o, Problem) for o in out):
                    self._sticky[function] = g  # the call that failed, not those skipped after it
            else:
                for v in g.values:
                    if v is not None:
                        v.flags.writeable = False
            out.append(g)
        return out

    def output(self) -> str:
        """Everything the submission printed (first bytes of each process run)."""
        parts = list(self._outputs)
        if self._proc is not None:
            parts.append(self._proc.output())
        return "\n".join(p for p in parts if p)

    def close(self) -> None:
        self._retire()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
