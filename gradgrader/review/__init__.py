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

One module per concern: ``text`` (terminal-safe text), ``scores``, ``browse`` (filter,
sort, step), ``stats``, ``detail`` (checks and source), ``folder`` (loading and
re-grading), ``keymap``; all are re-exported here.
"""

from __future__ import annotations

from gradgrader.review.browse import (
    SORT_KEYS,
    STATUSES,
    Filter,
    filter_results,
    matches,
    search_text,
    sort_results,
    step_failing,
)
from gradgrader.review.detail import (
    checks_by_function,
    failing_functions,
    function_lines,
    highlight_lines,
    read_source,
    source_path,
)
from gradgrader.review.folder import (
    ResultJSON,
    append_result,
    load,
    load_run,
    locate_submission,
    preview,
    regrade,
)
from gradgrader.review.keymap import load_keymap
from gradgrader.review.scores import has_override, is_failing, max_of, num, original_score, score_of
from gradgrader.review.stats import Stats, class_stats, histogram, median, mistake_counts
from gradgrader.review.text import clean

__all__ = [
    "SORT_KEYS", "STATUSES", "Filter", "ResultJSON", "Stats", "append_result", "checks_by_function",
    "class_stats", "clean", "failing_functions", "filter_results", "function_lines", "has_override",
    "highlight_lines", "histogram", "is_failing", "load", "load_keymap", "load_run", "locate_submission",
    "matches", "max_of", "median", "mistake_counts", "num", "original_score", "preview", "read_source",
    "regrade", "score_of", "search_text", "sort_results", "source_path", "step_failing",
]
