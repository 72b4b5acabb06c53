"""What ``gradgrader review`` knows, as plain functions: loading a results folder,
filtering, sorting, class statistics, locating a submission's source, re-grading one
submission. The terminal UI (``gradgrader.tui``) only calls these; nothing here imports
textual, so all of it is tested without a screen.

Results are typed (``gradgrader.result.Result``), read from the JSON lines of docs/result-schema.md
once, when loaded, with TA overrides applied (``gradgrader.overrides``): ``score`` is the
score to report, ``override.original_score`` the grader's. The results folder itself
(results.jsonl, overrides, run.json) is a ``gradgrader.run.RunFolder``. The review UI
keeps each result's JSON line as read (``ResultJSON``) so that a re-grade carries over
what this version does not know; the functions below take either form.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradgrader.overrides import apply_overrides
from gradgrader.result import CheckRecord, Result, as_result
from gradgrader.run import RunFolder, RunSettings

ResultJSON = dict[str, Any]  # a result as a line of results.jsonl holds it

# --- sanitising student-derived text -------------------------------------------------

# Terminal escape sequences: CSI (ESC [ … final), OSC (ESC ] … BEL/ST), DCS/SOS/PM/APC
# strings (ESC P/X/^/_ … ST), two-byte escapes, and the 8-bit CSI (0x9b). Removed whole so
# that no "[31m" debris is left behind.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
# Whatever control remains (C0 but tab and newline, DEL, C1), plus bidi overrides and
# isolates that could make displayed code read differently from what runs ("Trojan source").
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: Any) -> str:
    """``text`` safe to put on a terminal: escape sequences removed, carriage returns made
    newlines, tabs and newlines kept, every other control character shown as ``�``."""
    s = text if isinstance(text, str) else str(text)
    if _CONTROLS.search(s) is None:  # the common case: nothing to do (ESC is a control)
        return s
    s = _ESCAPES.sub("", s).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("\ufffd", s)


# --- scores and states ---------------------------------------------------------------


def num(x: Any) -> str:
    """A score as people write it: 7.25, 10, 8.3 (at most two decimals)."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return "?"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def score_of(r: Result) -> float:
    return _finite(r.score)


def max_of(r: Result) -> float:
    return _finite(r.max_score)


def original_score(r: Result) -> float:
    """The grader's score, before any TA override."""
    return float(r.override.original_score) if r.override is not None else score_of(r)


def is_failing(r: Result) -> bool:
    """Something to review: not loadable, a failing check, or short of full marks.
    Judged on the grader's findings, so overriding a score does not hide the failure."""
    if r.status != "graded":
        return True
    if any(not c.passed for c in r.checks):
        return True
    return original_score(r) < max_of(r) - 1e-9


def has_override(r: Result) -> bool:
    return r.override is not None


# --- loading -------------------------------------------------------------------------


def load(out: Path) -> list[Result]:
    """The results of ``out`` (latest line per submission) with TA overrides applied,
    sorted by submission id."""
    return RunFolder(out).reviewed()


_ID_PREFIX = b'{"submission": '


def preview(out: Path, first: int = 60) -> tuple[int, list[Result]]:
    """The number of submissions in ``out`` and the ``first`` of them by id, fast: only
    the ids of all lines are decoded (``results.dumps`` writes the id first), and only the
    shown lines are parsed. What a screen needs before ``load`` has read everything
    (toolong's trick); ``load`` stays the authority (e.g. for a corrupt last line)."""
    try:
        data = RunFolder(out).results_path.read_bytes()
    except OSError:
        return 0, []
    decoder = json.JSONDecoder()
    latest: dict[str, tuple[int, int]] = {}  # id -> span of its last line; no copies of lines
    start, end = 0, data.find(b"\n")
    while end >= 0:  # a torn last line has no newline and is left out, as read_results does
        sid: Any = None
        if data.startswith(_ID_PREFIX, start):
            head = data[start + len(_ID_PREFIX) : min(end, start + len(_ID_PREFIX) + 1024)]
            try:
                sid = decoder.raw_decode(head.decode("utf-8", "replace"))[0]
            except ValueError:
                sid = None
        if not isinstance(sid, str):
            try:
                obj = json.loads(data[start:end])
            except ValueError:
                obj = None
            sid = obj.get("submission") if isinstance(obj, dict) else None
        if isinstance(sid, str):
            latest[sid] = (start, end)
        start, end = end + 1, data.find(b"\n", end + 1)
    current = RunFolder(out).run_json().get("submissions")
    if isinstance(current, list):  # as read_results: only the class as last graded
        keep = set(current)
        latest = {sid: span for sid, span in latest.items() if sid in keep}
    shown: list[ResultJSON] = []
    for sid in sorted(latest):
        if len(shown) >= first:
            break
        try:
            a, b = latest[sid]
            obj = json.loads(data[a:b])
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("submission") == sid:
            shown.append(obj)
    return len(latest), apply_overrides(shown, RunFolder(out).overrides())


def load_run(out: Path | None) -> dict[str, Any]:
    """``out/run.json`` (the settings of the grade run), ``{}`` when missing."""
    return RunFolder(out).run_json() if out is not None else {}


# --- filtering and sorting ------------------------------------------------------------

STATUSES = ("graded", "error")
SORT_KEYS = ("submission", "score", "status", "mistakes")


@dataclass(frozen=True)
class Filter:
    """Which submissions the table shows. Every set criterion must hold."""

    failing_only: bool = False
    mistake: str | None = None  # submissions whose result names this mistake id
    status: str | None = None  # "graded" or "error"
    text: str = ""  # every word must occur in the submission's searchable text

    @property
    def active(self) -> bool:
        return (
            self.failing_only
            or self.mistake is not None
            or self.status is not None
            or bool(self.text.strip())
        )

    def describe(self) -> str:
        parts = []
        if self.failing_only:
            parts.append("failing")
        if self.mistake:
            parts.append(f"mistake={self.mistake}")
        if self.status:
            parts.append(f"status={self.status}")
        if self.text.strip():
            parts.append(f'search "{self.text.strip()}"')
        return " · ".join(parts) if parts else "all"


def search_text(r: Result) -> str:
    """What the search box matches, lowercased: id, status, mistakes, the load message,
    failing check ids and messages, and the TA's comment."""
    parts = [r.submission, r.status, " ".join(r.mistakes), r.message]
    for c in r.checks:
        if not c.passed:
            parts += [c.id, c.message]
    if r.override is not None:
        parts.append(r.override.comment)
    return " ".join(parts).lower()


def matches(r: Result, f: Filter) -> bool:
    if f.failing_only and not is_failing(r):
        return False
    if f.mistake is not None and f.mistake not in r.mistakes:
        return False
    if f.status is not None and r.status != f.status:
        return False
    words = f.text.lower().split()
    if words:
        hay = search_text(r)
        return all(w in hay for w in words)
    return True


def filter_results(results: Iterable[Result], f: Filter) -> list[Result]:
    return [r for r in results if matches(r, f)]


def sort_results(
    results: Iterable[Result], key: str = "submission", reverse: bool = False
) -> list[Result]:
    """Sorted by one of ``SORT_KEYS``; ties (same score, status…) keep id order."""
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort by {key!r}; choose one of {', '.join(SORT_KEYS)}")
    by_id = sorted(results, key=lambda r: r.submission)
    if key == "submission":
        return by_id[::-1] if reverse else by_id
    if key == "score":
        k: Any = lambda r: (score_of(r) / max_of(r)) if max_of(r) > 0 else score_of(r)  # noqa: E731
    elif key == "status":
        k = lambda r: r.status  # noqa: E731
    else:
        k = lambda r: (len(r.mistakes), " ".join(r.mistakes))  # noqa: E731
    return sorted(by_id, key=k, reverse=reverse)


def step_failing(results: Sequence[Result], index: int, step: int) -> int | None:
    """The index of the next (``step=1``) or previous (``step=-1``) failing result after
    ``index``, wrapping around the list; ``None`` when no other result is failing."""
    n = len(results)
    for k in range(1, n + 1):
        i = (index + step * k) % n
        if i != index and is_failing(results[i]):
            return i
    return None


# --- class statistics ---------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """The class at a glance. Mean, median and histogram are over graded submissions
    (a submission that could not be loaded has no meaningful score; it is counted apart)."""

    total: int
    graded: int
    errors: int
    full: int
    failing: int
    overridden: int
    mean: float | None
    median: float | None
    max_score: float
    histogram: tuple[int, ...]  # counts per bin of [0, max_score]
    edges: tuple[float, ...]  # len(histogram) + 1 bin edges
    mistakes: tuple[tuple[str, int], ...]  # (id, number of submissions), most common first


def histogram(
    scores: Sequence[float], top: float, bins: int = 10
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Counts of ``scores`` in ``bins`` equal bins over [0, top]; the last bin includes
    ``top`` and scores outside the range go to the nearest end bin."""
    top = top if top > 0 else max([*scores, 1.0])
    edges = tuple(top * i / bins for i in range(bins + 1))
    counts = [0] * bins
    for s in scores:
        i = int(s / top * bins) if top > 0 else 0
        counts[min(max(i, 0), bins - 1)] += 1
    return tuple(counts), edges


def mistake_counts(results: Iterable[Result]) -> list[tuple[str, int]]:
    """Each mistake id with the number of submissions that have it, most common first
    (ties by id)."""
    counts = Counter(m for r in results for m in set(r.mistakes))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def median(values: Sequence[float]) -> float | None:
    s = sorted(values)
    if not s:
        return None
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def class_stats(results: Sequence[Result], bins: int = 10) -> Stats:
    graded = [r for r in results if r.status == "graded"]
    scores = [score_of(r) for r in graded]
    top = max((max_of(r) for r in results), default=0.0)
    hist, edges = histogram(scores, top, bins)
    return Stats(
        total=len(results),
        graded=len(graded),
        errors=len(results) - len(graded),
        full=sum(1 for r in graded if score_of(r) >= max_of(r) - 1e-9),
        failing=sum(1 for r in results if is_failing(r)),
        overridden=sum(1 for r in results if has_override(r)),
        mean=sum(scores) / len(scores) if scores else None,
        median=median(scores),
        max_score=top,
        histogram=hist,
        edges=edges,
        mistakes=tuple(mistake_counts(results)),
    )


# --- one submission in detail -------------------------------------------------------


def checks_by_function(r: Result) -> dict[str, list[CheckRecord]]:
    """The result's checks grouped by the function they grade, in the order they ran."""
    groups: dict[str, list[CheckRecord]] = {}
    for c in r.checks:
        groups.setdefault(c.function or "?", []).append(c)
    return groups


def failing_functions(r: Result) -> list[str]:
    return [fn for fn, checks in checks_by_function(r).items() if any(not c.passed for c in checks)]


def function_lines(source: str, name: str) -> tuple[int, int] | None:
    """The first and last line (1-based) of the definition of function ``name`` in
    ``source``, decorators included; the top-level one if several exist. ``None`` when
    the source does not parse or has no such function."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: list[tuple[int, Any]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            depth = 0 if node in tree.body else 1
            found.append((depth, node))
    if not found:
        return None
    node = min(found, key=lambda dn: (dn[0], dn[1].lineno))[1]
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first, node.end_lineno or node.lineno


def highlight_lines(source: str, functions: Iterable[str]) -> set[int]:
    """Every line of the definitions of ``functions`` in ``source``."""
    lines: set[int] = set()
    for fn in functions:
        span = function_lines(source, fn)
        if span:
            lines.update(range(span[0], span[1] + 1))
    return lines


def source_path(r: Result | ResultJSON, run: dict[str, Any] | None = None) -> Path | None:
    """The student's file: the recorded path when it still exists (a relative path is
    relative to where ``grade`` ran, usually here), else the same file under the run's
    class folder (``class_folder/ID/…`` or ``class_folder/ID.py``)."""
    r = as_result(r)
    recorded = Path(r.path)
    if recorded.name and recorded.is_file():
        return recorded
    folder = RunSettings.from_json(run or {}).class_folder
    sid = r.submission
    if not (folder and sid and recorded.name):
        return None
    parts = recorded.parts
    inside = parts[parts.index(sid) + 1 :] if sid in parts else (recorded.name,)
    for candidate in (
        Path(folder, sid, *inside),
        Path(folder, sid, recorded.name),
        Path(folder, f"{sid}.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def read_source(
    r: Result | ResultJSON, run: dict[str, Any] | None = None, limit: int = 1 << 20
) -> tuple[Path | None, str | None]:
    """The student's file and its text (undecodable bytes replaced, at most ``limit`` bytes)."""
    path = source_path(r, run)
    if path is None:
        return None, None
    try:
        with path.open("rb") as f:
            data = f.read(limit)
    except OSError:
        return path, None
    return path, data.decode("utf-8", errors="replace")


# --- re-grading ---------------------------------------------------------------------


def locate_submission(r: Result | ResultJSON, run: dict[str, Any], filename: str):  # -> ingest.Submission
    """The submission behind a result, found the way it was found the first time: the
    path ``check`` was given (``run["check_path"]``), else ``ID/`` or ``ID.py|.ipynb`` in
    the run's class folder (``ClassExport.root``), else the recorded file on its own.
    Never a guessed folder: a submission's folder goes on its import path."""
    from gradgrader.errors import SubmissionError
    from gradgrader.ingest import single
    from gradgrader.ingest.folders import file_submission, submission_in

    r = as_result(r)
    settings = RunSettings.from_json(run)
    sid = r.submission
    if settings.check_path is not None:
        return single(settings.check_path, filename)
    folder = settings.class_folder
    if folder is not None:
        d = folder / sid
        if d.is_dir():
            return submission_in(sid, d, filename)
        for suffix in (".py", ".ipynb"):
            if (folder / f"{sid}{suffix}").is_file():
                return file_submission(sid, folder / f"{sid}{suffix}", filename)
    recorded = Path(r.path)
    if folder is not None and recorded.name:
        # an id told apart from a look-alike (``alice~3f2a9c``, see ingest.distinct_ids) is
        # not its folder's name: the folder is the one the graded file was found in
        try:
            inside = recorded.resolve().relative_to(folder.resolve()).parts
        except ValueError:
            inside = ()
        if len(inside) > 1 and (folder / inside[0]).is_dir():
            return submission_in(sid, folder / inside[0], filename)
    if recorded.name and recorded.is_file():
        return file_submission(sid, recorded, filename)
    raise SubmissionError(
        f"cannot find submission {sid!r} any more (looked in {folder or 'no class folder'} and at {recorded})"
    )


def regrade(r: Result | ResultJSON, run: dict[str, Any]) -> ResultJSON:
    """Grade ``r``'s submission again with the run's assignment, rubric and input secret,
    in a sandbox at least as strong as ``grade`` demands (``run["strict_sandbox"]`` false
    relaxes that, as ``check`` does for a student's own file); return the new result's
    JSON (nothing is written). What the old result held beside grading (LMS metadata
    such as lateness or the student's LMS id, keys of another version) is carried over.
    Slow (a sandbox starts): call it off the UI thread."""
    from dataclasses import replace

    from gradgrader.errors import ConfigError
    from gradgrader.loading import load_for_grading, open_grader
    from gradgrader.results import dumps

    old = as_result(r)
    settings = RunSettings.from_json(run)
    where = settings.assignment or old.assignment
    if not where:
        raise ConfigError(
            "no assignment recorded for this result (run.json is missing): cannot re-grade"
        )
    spec, rubric = load_for_grading(where, settings.rubric, settings.input_secret)
    submission = locate_submission(old, run, spec.filename)
    with open_grader(
        spec, rubric, allow_weak=settings.allow_weak_sandbox, strict=settings.strict_sandbox,
        where="re-grading is refused here as `grade` refuses it: ", hidden=settings.hidden,
    ) as grader:
        result = grader.grade(submission)
    # The submission's own fields (LMS identity, lateness, notebook), keys this version
    # does not know, and the fingerprint of the run (re-graded with its assignment, rubric
    # and secret) stay as they were; what grading says is the new result's only. (An old
    # grader failure, time-outs or grader errors describe the old grading: not kept.)
    result = replace(
        result,
        extra={**old.extra, **result.extra},
        late=result.late if result.late is not None else old.late,
        lms=result.lms if result.lms is not None else old.lms,
        notebook=result.notebook if result.notebook is not None else old.notebook,
        fingerprint=result.fingerprint or old.fingerprint,
    )
    return json.loads(dumps(result))


def append_result(out: Path, result: Result | ResultJSON) -> None:
    """Append one result line to ``out/results.jsonl`` (``RunFolder.append``): it
    supersedes the submission's old line without editing it."""
    RunFolder(out).append(as_result(result))


# --- key bindings ---------------------------------------------------------------------


def load_keymap(path: Path) -> dict[str, str]:
    """A user's key remapping: a TOML file with a ``[keymap]`` table of binding id =
    "keys" (comma-separated), e.g. ``next-failing = "j,n"``. Missing file: ``{}``."""
    from gradgrader._toml import load_toml
    from gradgrader.errors import ConfigError

    if not path.is_file():
        return {}
    data = load_toml(path)
    table = data.get("keymap", {})
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ConfigError(
            f'{path}: [keymap] must map binding ids to key strings, e.g. next-failing = "j"'
        )
    return dict(table)
