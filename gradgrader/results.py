"""Result objects (SPEC §4) and their files: ``results.jsonl`` and ``grades.csv``.

``results.jsonl`` is appended one line per submission and flushed to disk at once, so
a crash loses at most the submission being graded; a torn last line (``kill -9``
mid-write) is dropped on reading and cut off before the next append. ``grades.csv``
is always rewritten whole, atomically (write a temporary file, then rename).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = "results.jsonl"
GRADES = "grades.csv"
RUN = "run.json"  # what was graded and how: lets review re-grade and --resume check settings


@dataclass(frozen=True)
class CheckRecord:
    id: str
    function: str
    passed: bool
    score: float
    max_score: float
    message: str
    mistakes: tuple[str, ...] = ()
    kind: str = ""
    diagnosis: dict[str, Any] | None = None
    feedback: str = ""
    cases: tuple[dict[str, Any], ...] = ()
    # Never scored (SPEC §4 is unchanged): what the function does beyond the contract.
    advice: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "function": self.function,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
            "mistakes": list(self.mistakes),
            "kind": self.kind,
        }
        if self.diagnosis:
            out["diagnosis"] = self.diagnosis
        if self.feedback:
            out["feedback"] = self.feedback
        if self.cases:
            out["cases"] = list(self.cases)
        if self.advice:
            out["advice"] = list(self.advice)
        return out


@dataclass(frozen=True)
class Result:
    submission: str
    path: str
    assignment: str
    status: str  # "graded" or "error"
    score: float
    max_score: float
    checks: tuple[CheckRecord, ...]
    mistakes: tuple[str, ...]
    elapsed_s: float
    message: str = ""
    output: str = ""  # what the submission printed (truncated), never scored
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def advice(self) -> tuple[str, ...]:
        """The checks that give advice (never scored, not mistakes), like ``mistakes``
        is the union of the checks' mistake ids."""
        return tuple(c.id for c in self.checks if c.advice)

    @property
    def full_marks(self) -> bool:
        return self.status == "graded" and self.score >= self.max_score - 1e-9

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "submission": self.submission,
            "path": self.path,
            "assignment": self.assignment,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [c.to_json() for c in self.checks],
            "mistakes": list(self.mistakes),
            "elapsed_s": self.elapsed_s,
        }
        if self.message:
            out["message"] = self.message
        if self.output:
            out["output"] = self.output
        if self.sha256:
            out["sha256"] = self.sha256
        if self.advice:
            out["advice"] = list(self.advice)
        out.update(self.extra)
        return out


def _json_default(value: Any) -> Any:
    if isinstance(value, float):
        return None
    raise TypeError(type(value).__name__)


def dumps(result: Result) -> str:
    """One JSON line; NaN/inf (never valid JSON) become strings."""
    return json.dumps(_clean(result.to_json()), ensure_ascii=False, allow_nan=False)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not (value == value and abs(value) != float("inf")):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def read_results(out: Path, everyone: bool = False) -> list[dict[str, Any]]:
    """Every complete result line of ``out/results.jsonl`` (a torn last line is skipped).

    A submission graded twice (re-grade after a change) keeps its last line. Only the
    submissions of the class as it was last graded count (``run.json`` lists them: a
    student removed from the class folder before a ``--resume`` drops out of the grades,
    while the lines stay in the file); ``everyone`` returns them all."""
    path = out / RESULTS
    if not path.is_file():
        return []
    current = None if everyone else read_run(out).get("submissions")
    latest: dict[str, dict[str, Any]] = {}
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # torn write: the process died mid-line
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("submission"), str):
                latest.pop(obj["submission"], None)
                latest[obj["submission"]] = obj
    if isinstance(current, list):
        keep = set(current)
        return [r for sid, r in latest.items() if sid in keep]
    return list(latest.values())


class ResultsWriter:
    """Appends results to ``out/results.jsonl``, each line flushed and fsynced."""

    def __init__(self, out: Path, fresh: bool) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / RESULTS
        if fresh and self.path.exists():
            self.path.unlink()
        self._repair()
        self._f = self.path.open("ab")

    def _repair(self) -> None:
        """Cut a torn last line left by a killed run, so the next line starts clean."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, result: Result) -> None:
        self._f.write(dumps(result).encode() + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for a moment,
    for every thread): from /proc on Linux, else the usual 022."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def atomic_write(path: Path, text: str) -> None:
    """Write ``path`` all at once (a reader sees the old file or the new one), with the
    permissions an ordinary new file gets (mkstemp's are owner-only)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_cell(value: str) -> str:
    """Neutralise a spreadsheet formula (=, +, -, @ at the start) in text from a student."""
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def grades_csv(results: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["submission", "score", "max_score", "status", "mistakes"])
    for r in sorted(results, key=lambda r: r["submission"]):
        w.writerow([csv_cell(r["submission"]), f"{r['score']:g}", f"{r['max_score']:g}", r["status"], " ".join(r.get("mistakes", []))])
    return buf.getvalue()


def write_grades(out: Path) -> Path:
    """Rewrite ``out/grades.csv`` from ``out/results.jsonl`` and the TA's
    ``out/overrides.jsonl`` (scores overridden in the review UI), atomically."""
    from gradgrader.overrides import (
        write_grades_with_overrides,  # lazy: overrides imports this module
    )

    return write_grades_with_overrides(out)


def write_run(out: Path, info: dict[str, Any]) -> None:
    """Record the run's settings (assignment folder, rubric file, class folder, version)."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / RUN, json.dumps(info, indent=2, ensure_ascii=False) + "\n")


def read_run(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
