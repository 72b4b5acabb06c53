"""Moved down to :mod:`gradgrader.submission` (grading one file needs no class reader);
these names stay importable from here."""

from gradgrader.submission import (
    COPY_CAP,
    GRADABLE,
    IGNORED_DIRS,
    Submission,
    default_cache,
    distinct_ids,
    notebook_submission,
    printable_id,
    terminal_safe,
)

__all__ = [
    "COPY_CAP", "GRADABLE", "IGNORED_DIRS", "Submission", "default_cache", "distinct_ids", "notebook_submission",
    "printable_id", "terminal_safe",
]
