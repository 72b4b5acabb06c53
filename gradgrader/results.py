"""Result objects (docs/result-schema.md) and their files: ``results.jsonl`` and ``grades.csv``.

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
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# The typed result lives in gradgrader.result; re-exported for the modules that import it here.
from gradgrader.result import CheckRecord as CheckRecord
from gradgrader.result import Result as Result
from gradgrader.result import as_result
from gradgrader.result import valid_text as valid_text

RESULTS = "results.jsonl"
GRADES = "grades.csv"
RUN = "run.json"  # what was graded and how: lets review re-grade and --resume check settings


def _json_default(value: Any) -> Any:
    if isinstance(value, float):
        return None
    raise TypeError(type(value).__name__)


def dumps(result: Result) -> str:
    """One JSON line; NaN/inf (never valid JSON) become strings, text that is not valid
    UTF-8 is mended (see :func:`valid_text`)."""
    data = result.to_json()
    try:
        # Most results hold neither: then ``_clean`` would change nothing, and a walk of
        # the whole result (its error maps) in Python is skipped (#17). A non-finite float
        # stops the encoder, a lone surrogate the UTF-8 check.
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
        return text
    except (ValueError, UnicodeEncodeError):
        return json.dumps(_clean(data), ensure_ascii=False, allow_nan=False)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not (value == value and abs(value) != float("inf")):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {valid_text(k) if isinstance(k, str) else k: _clean(v) for k, v in value.items()}
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
    rows: list[dict[str, Any]] = []
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # torn write: the process died mid-line
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("submission"), str):
                rows.append(obj)
    return latest_of(rows, lambda obj: obj["submission"], current)


def latest_of(rows: Iterable[Any], submission: Callable[[Any], str], current: Any) -> list[Any]:
    """The last of ``rows`` of each submission, in the order of their last lines, only
    those of the ``current`` submissions if it is a list (run.json's)."""
    latest: dict[str, Any] = {}
    for row in rows:
        sid = submission(row)
        latest.pop(sid, None)
        latest[sid] = row
    if isinstance(current, list):
        keep = set(current)
        return [r for sid, r in latest.items() if sid in keep]
    return list(latest.values())


def unrecordable(result: Result, exc: BaseException) -> dict[str, Any]:
    """The error result written in place of ``result`` when it cannot be recorded: the
    submission's identity, its fingerprint (if any), and why (``grader_failure``, so
    that ``grade --resume`` grades it again)."""

    def text(value: Any) -> str:
        return valid_text(value) if isinstance(value, str) else ""

    def number(value: Any) -> float:
        return float(value) if isinstance(value, (int, float)) and value == value and abs(value) != float("inf") else 0.0

    what = text(f"{type(exc).__name__}: {exc}")
    out: dict[str, Any] = {
        "submission": text(result.submission),
        "path": text(result.path),
        "assignment": text(result.assignment),
        "status": "error",
        "score": 0.0,
        "max_score": number(result.max_score),
        "checks": [],
        "mistakes": [],
        "elapsed_s": number(result.elapsed_s),
        "message": f"the grader could not record this submission's result ({what}); this is a problem of the "
        "grader, not a verdict on the code: the course staff will grade it again",
        "sha256": text(result.sha256),
        "grader_failure": {"stage": "recording", "error": what},
    }
    for key in ("gradgrader", "fingerprint", "sandbox"):
        if isinstance(getattr(result, key, None), str):
            out[key] = text(getattr(result, key))
    return out


# Seconds between two fsyncs of results.jsonl while a class is graded. Every line is
# flushed to the operating system as its submission finishes (a killed or crashed
# gradgrader loses none); only a crash of the machine itself can lose the lines of the
# last SYNC_EVERY seconds, which ``--resume`` grades again. An fsync per line cost ~2 ms
# of the parent process per submission on this project's machine, during which no next
# submission was handed to an idle worker (#17).
SYNC_EVERY = 0.5


class ResultsWriter:
    """Appends results to ``out/results.jsonl``: each line flushed as it is written,
    fsynced at most every :data:`SYNC_EVERY` seconds and when closed.

    A fresh file's writer also keeps each line it wrote, read back as :func:`read_results`
    reads it (:meth:`results`): after the last submission, ``grade`` has the results
    without reading the whole file again alone on one core (~0.2 s per 1,000 submissions,
    #17); each line is read while the class is graded."""

    def __init__(self, out: Path, fresh: bool, clock: Callable[[], float] = time.monotonic) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / RESULTS
        if fresh and self.path.exists():
            self.path.unlink()
        self._repair()
        self._f = self.path.open("ab")
        self._clock = clock
        self._synced = clock()
        self._unsynced = False
        # Only for a file that holds nothing but this writer's lines.
        self._kept: list[Result] | None = [] if fresh else None

    def _repair(self) -> None:
        """Cut a torn last line left by a killed run, so the next line starts clean."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, result: Result) -> None:
        """Append ``result``; a result that cannot be turned into a line (whatever its
        text or extra fields hold) is recorded as that submission's error result, so one
        student never stops the writer. Only a failing disk (OSError) is raised."""
        line = line_of(result)
        self._f.write(line)
        self._f.flush()
        self._unsynced = True
        if self._kept is not None:
            try:
                obj = json.loads(line)
                if not (isinstance(obj, dict) and isinstance(obj.get("submission"), str)):
                    raise ValueError("not a result line")
                self._kept.append(Result.from_json(obj))
            except Exception:  # noqa: BLE001 - then the file is read back, as without this
                self._kept = None
        if self._clock() - self._synced >= SYNC_EVERY:
            self.sync()

    def results(self, current: Any) -> list[Result] | None:
        """What :func:`read_results` would read back from the lines written (``current``:
        run.json's submissions), or None if this writer did not keep them (not a fresh
        file, or a line it could not read)."""
        if self._kept is None:
            return None
        return latest_of(self._kept, lambda result: result.submission, current)

    def sync(self) -> None:
        """Put every line written so far on the disk."""
        if self._unsynced:
            os.fsync(self._f.fileno())
            self._unsynced = False
        self._synced = self._clock()

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._f.flush()
            self.sync()
        finally:
            self._f.close()


def line_of(result: Result) -> bytes:
    """``result`` as one line of results.jsonl; a result that cannot be turned into a
    line (whatever its text or extra fields hold) becomes that submission's error
    result (:func:`unrecordable`), so one student never stops the writer."""
    try:
        line = dumps(result).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - this one result is lost, not the batch
        line = json.dumps(unrecordable(result, exc), ensure_ascii=False).encode("utf-8")
    return line + b"\n"


def append_line(out: Path, result: Result) -> None:
    """Append one result to ``out/results.jsonl``, flushed and fsynced (a re-grade).
    ``read_results`` keeps the last line of a submission, so this supersedes the old
    line without editing it; a torn last line (a killed run) is cut off first, as
    ``ResultsWriter`` does."""
    path = out / RESULTS
    out.mkdir(parents=True, exist_ok=True)
    line = line_of(result)
    with path.open("ab+") as f:
        size = f.seek(0, os.SEEK_END)
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                start = max(0, size - (1 << 20))
                f.seek(start)
                cut = f.read().rfind(b"\n")
                if cut >= 0 or start == 0:
                    f.truncate(start + cut + 1)
                else:  # a torn line longer than 1 MiB: end it; read_results skips it as invalid
                    line = b"\n" + line
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


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


def grades_csv(results: Iterable[Result | Mapping[str, Any]]) -> str:
    """``grades.csv`` text: submission, score, max_score, status, mistakes; by id."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["submission", "score", "max_score", "status", "mistakes"])
    for r in sorted((as_result(r) for r in results), key=lambda r: r.submission):
        w.writerow([csv_cell(r.submission), f"{r.score:g}", f"{r.max_score:g}", r.status, " ".join(r.mistakes)])
    return buf.getvalue()


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
