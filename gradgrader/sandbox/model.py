"""The sandbox's value types: what goes into a student process and what comes back.

Plain data only (no processes, no sockets): the limits of a process, a staged
submission, what a load or a call produced, how a process ended, the sandbox's own
errors, and the clean-up of any text that came out of a student process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradgrader.errors import SandboxError
from gradgrader.sandbox.staging import StagingError as StagingError  # defined where it is raised

if TYPE_CHECKING:  # the values are numpy arrays; this module is imported before numpy (#17)
    import numpy as np

# Decoded arrays (float64) the grader accepts from one reply, and from one submission in
# all: a reply holds a few outputs of at most max_output_bytes each; a whole submission's
# honest outputs are a few MiB (80 finite-difference calls of a (K, D) gradient).
REPLY_DECODE_CAP = 64 << 20
SUBMISSION_DECODE_CAP = 512 << 20


class SandboxFailure(SandboxError):
    """The sandbox could not prepare a process for a submission, twice: the grader's
    fault (or the machine's), never the student's; the TA sees why."""


@dataclass(frozen=True)
class Staged:
    """A submission copied into the sandbox once (see :meth:`Sandbox.stage`): the graded
    file's copy, the copy of its folder (None for a lone file) and the course helpers."""

    path: Path
    folder: Path | None
    course: Path | None
    files: int = 1  # files copied


@dataclass(frozen=True)
class ChildLimits:
    """rlimits of one student process (see the zygote's ``child_main``)."""

    memory_mb: int = 1024
    cpu_s: float = 120.0
    fsize_mb: int = 16
    nproc: int = 64
    max_output_bytes: int = 16 << 20  # one returned array: 2 M float64, far above any homework's


@dataclass(frozen=True)
class Problem:
    """Why a load or a call produced no usable value, in words for the student."""

    kind: str  # not-implemented, exception, timeout, crashed, memory-limit, wrong-output, wrong-type, ...
    message: str
    exc_type: str = ""
    line: int | None = None
    code: str = ""

    def describe(self) -> str:
        where = f" (line {self.line}: {self.code.strip()})" if self.line else ""
        if self.kind == "exception" or (self.exc_type and self.kind in {"not-implemented", "memory-limit"}):
            first = self.message.strip().splitlines()[0] if self.message.strip() else ""
            more = " …" if self.message.strip().count("\n") else ""
            text = f"{self.exc_type}: {first}{more}" if first else self.exc_type
            return f"raised {text}{where}"
        return f"{self.message}{where}"


@dataclass(frozen=True)
class Returned:
    """What one call returned: per output, an array (float64) or a problem; plus type names."""

    values: tuple[np.ndarray | None, ...]
    types: tuple[str, ...]
    problems: tuple[Problem | None, ...]
    elapsed: float


@dataclass
class ExitInfo:
    exit_code: int | None = None
    signal_name: str | None = None
    cpu_s: float = 0.0
    killed_by_grader: bool = False
    reason: str | None = None  # why the sandbox killed it, if it was not the grader's deadline

    def describe(self) -> str:
        if self.reason:
            return f"the process was stopped: {self.reason}"
        if self.signal_name == "SIGSEGV":
            return "the process crashed with a segmentation fault"
        if self.signal_name in {"SIGXCPU"}:
            return "the process used up its CPU time"
        if self.signal_name:
            return f"the process was killed by {self.signal_name}"
        return f"the process exited with status {self.exit_code} (exit() or os._exit() in the submission)"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def valid_utf8(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (``'\\udcff'`` in an exception message,
    which JSON carries as an escape) becomes U+FFFD. Such a character cannot be written
    to a UTF-8 file and stopped the results writer for every student (issue 16)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def sanitize(text: str) -> str:
    """Text that came out of a student process, made safe to store and show: valid
    UTF-8, without terminal control characters (escape sequences, bells, carriage
    returns), so none of it can act on a terminal or break a writer."""
    return _CONTROL.sub("", valid_utf8(text))


def reply_problem(info: Any) -> Problem:
    """The Problem a student process reported (an ``error`` of its reply), every field
    capped and sanitized; a reply that is not a dict is a malformed one."""
    if not isinstance(info, dict):
        return Problem("crashed", "the sandboxed process sent a malformed reply")
    line = info.get("line")
    return Problem(
        kind=str(info.get("kind", "exception"))[:40],
        message=sanitize(str(info.get("message", ""))[:2000]),
        exc_type=sanitize(str(info.get("type", ""))[:100]),
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        code=sanitize(str(info.get("code", ""))[:300]),
    )


@dataclass
class LoadReport:
    """How loading the submission went: the functions it defines, or why it failed."""

    ok: bool
    problem: Problem | None = None
    functions: dict[str, dict] = field(default_factory=dict)
    elapsed: float = 0.0
