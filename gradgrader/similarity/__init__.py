"""Which submissions of a class share code beyond what the course handed out.

The method is MOSS's (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for
document fingerprinting", SIGMOD 2003), on Python tokens:

1. **Normalise** each file with :mod:`tokenize`: every identifier becomes one token
   class ``V`` (so renaming variables changes nothing), except keywords, builtins and the
   attribute after a dot (``np.exp`` stays ``V.exp``: a renamer cannot change numpy's
   API, and keeping it tells independent numpy solutions apart); every number becomes
   ``0`` and every string ``""``; comments, blank lines, indentation, docstrings and
   ``print(...)`` calls are dropped.
2. **Hash every k-gram** of normalised tokens (``K`` tokens) and **winnow**: in every
   window of ``W`` consecutive k-gram hashes keep the smallest. Any shared run of at
   least ``K + W - 1`` tokens is then guaranteed to share a kept fingerprint, and no run
   shorter than ``K`` tokens can. Reordering functions only moves fingerprints around.
3. **Subtract the course's code**: every k-gram of the starter file and of the helper
   modules the assignment ships is removed from every file first, so code every
   student was given never matches. Fingerprints held by more than ``max_holders``
   files are dropped as common idiom (MOSS's ``-m``, default 10 there too).
4. **An inverted index** fingerprint → files yields the candidate pairs with the
   number of fingerprints they share, in time proportional to the matches, not to the
   n²/2 pairs; only pairs sharing at least ``min_shared`` fingerprints are compared
   token by token (every k-gram, not only the kept ones) to measure the matched share
   of each file and the matched line ranges.

A match is a reason to look at two files side by side, never a verdict: students
solving the same small numerical exercise write similar code, and the report says so.

The steps live in their own modules, in the order above: :mod:`.tokens` (1),
:mod:`.fingerprints` (2 and the course's code of 3), :mod:`.compare` (the index and the
pairs, 3 and 4), :mod:`.report` (a whole class: its files in, a :class:`Report` out) and
:mod:`.table` (``similarity.csv`` and the ``--json`` rows). Every name is importable from
here. Nothing here imports textual or rich: the CLI and the review screen render the report.
"""

from __future__ import annotations

from gradgrader.similarity.compare import MAX_HOLDERS, MIN_MATCH, MIN_SHARED, Match, compare
from gradgrader.similarity.fingerprints import (
    COURSE_KGRAM,
    NO_COURSE,
    Course,
    Document,
    K,
    W,
    course_code,
    fingerprint,
    kgram_hashes,
    winnow,
)
from gradgrader.similarity.report import (
    NOTE,
    PARALLEL_FROM,
    Report,
    analyse,
    archive_files,
    class_submissions,
    course_files,
    course_of_run,
    read_code,
)
from gradgrader.similarity.table import (
    COLUMNS,
    SIMILARITY,
    as_rows,
    format_lines,
    lines_in,
    parse_lines,
    read_csv,
    write_csv,
)
from gradgrader.similarity.tokens import Tokens, normalise

__all__ = [
    "COLUMNS",
    "COURSE_KGRAM",
    "K",
    "MAX_HOLDERS",
    "MIN_MATCH",
    "MIN_SHARED",
    "NOTE",
    "NO_COURSE",
    "PARALLEL_FROM",
    "SIMILARITY",
    "W",
    "Course",
    "Document",
    "Match",
    "Report",
    "Tokens",
    "analyse",
    "archive_files",
    "as_rows",
    "class_submissions",
    "compare",
    "course_code",
    "course_files",
    "course_of_run",
    "fingerprint",
    "format_lines",
    "kgram_hashes",
    "lines_in",
    "normalise",
    "parse_lines",
    "read_code",
    "read_csv",
    "winnow",
    "write_csv",
]
