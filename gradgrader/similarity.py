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

Nothing here imports textual or rich: the CLI and the review screen render the report.
"""

from __future__ import annotations

import builtins
import csv
import functools
import io
import itertools
import keyword
import token as tk
import tokenize
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradgrader.results import atomic_write, csv_cell

SIMILARITY = "similarity.csv"
NOTE = (
    "A match is a reason to look at two files side by side, not a verdict: students who "
    "solve the same exercise write similar code, and code from the starter file is "
    "already left out."
)

# K: the noise threshold. 12 normalised tokens is about one line of numpy
# (`V = V . exp ( V - V . max ( ...`): shorter shared runs are idiom, not copying.
K = 12
# W: the window. Any shared run of K + W - 1 = 17 tokens (about a line and a half) is
# guaranteed to be found; winnowing keeps ~2/(W+1) of the k-grams (the paper's density).
W = 6
MAX_HOLDERS = 10  # a fingerprint in more files than this is common idiom (MOSS's -m)
MIN_SHARED = 2  # fingerprints two files must share to be compared token by token
# A pair is reported when each file has at least this many tokens in matched code: about
# three lines of numpy. Below that, shared code is a formula anyone writes the same way
# (the stable log-sum-exp one-liner alone is ~30 tokens with its neighbours).
MIN_MATCH = 40

_KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_DROP = frozenset({tk.COMMENT, tk.NL, tk.INDENT, tk.DEDENT, tk.ENCODING, tk.ENDMARKER})
_STATEMENT_START = frozenset({tk.NEWLINE, tk.INDENT, tk.DEDENT})
_FSTRING_START = getattr(tk, "FSTRING_START", -1)  # Python 3.12+: f-strings are split up
_FSTRING_END = getattr(tk, "FSTRING_END", -1)
_STRINGS = frozenset({tk.STRING, _FSTRING_START})


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Tokens:
    """A file's normalised tokens and the source line each came from (1-based)."""

    text: tuple[str, ...]
    lines: tuple[int, ...]


def normalise(source: str) -> Tokens:
    """The normalised token stream of Python ``source`` (see the module docstring).

    A file that does not tokenize to the end (a syntax error, an unclosed bracket) keeps
    the tokens read before the problem: a broken file can still be a copy."""
    raw: list[tokenize.TokenInfo] = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(source).readline):
            raw.append(t)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    text: list[str] = []
    lines: list[int] = []
    prev_type = tk.NEWLINE  # the type of the previous significant token
    prev_text = ""
    depth = 0  # bracket depth
    signature = -1  # the depth of a def's parameter list while inside it, else -1
    i = 0
    n = len(raw)
    while i < n:
        t = raw[i]
        if t.type in _DROP:
            if t.type in (tk.INDENT, tk.DEDENT):
                prev_type = t.type
            i += 1
            continue
        at_start = prev_type in _STATEMENT_START
        if t.type == tk.STRING and at_start and _statement_is_string(raw, i):
            i = _skip_statement(raw, i)  # a docstring or a bare string: a comment
            continue
        if t.type == tk.NAME and t.string == "print" and prev_text != "." and _next_is(raw, i, "("):
            j = _skip_call(raw, i + 1)
            if at_start and j < n and raw[j].type in (tk.NEWLINE, tk.ENDMARKER):
                j += 1  # the whole statement was the print
            i = j
            continue
        if t.type == tk.OP and (
            (t.string == ":" and signature >= 0 and depth == signature + 1) or (t.string == "->" and depth == 0)
        ):
            # type annotations are dropped: a student who strips the starter's hints
            # from a signature has not written new code
            i = _skip_annotation(raw, i)
            continue
        if t.type == tk.OP and t.string in "([{":
            if signature < 0 and _def_name(raw, i):
                signature = depth
            depth += 1
        elif t.type == tk.OP and t.string in ")]}":
            depth = max(0, depth - 1)
            if depth == signature:
                signature = -1
        if t.type == tk.NAME:
            # a keyword argument's name (axis=, keepdims=) is numpy's API, not a
            # student's choice: kept, unlike a parameter's name in a def
            api = depth > 0 and signature < 0 and _next_is(raw, i, "=")
            word = t.string if (t.string in _KEEP_NAMES or prev_text == "." or api) else "V"
        elif t.type == tk.NUMBER:
            word = "0"
        elif t.type in _STRINGS:
            word = '""'
            if t.type != tk.STRING:  # 3.12+: an f-string is several tokens; keep one
                i = _skip_fstring(raw, i)
                text.append(word)
                lines.append(t.start[0])
                prev_type, prev_text = tk.STRING, word
                continue
        elif t.type == tk.NEWLINE:
            if prev_type in _STATEMENT_START:
                i += 1
                continue
            word = ";"
        else:
            word = t.string
        text.append(word)
        lines.append(t.start[0])
        prev_type, prev_text = t.type, t.string
        i += 1
    return Tokens(tuple(text), tuple(lines))


def _next_is(raw: Sequence[tokenize.TokenInfo], i: int, s: str) -> bool:
    return i + 1 < len(raw) and raw[i + 1].string == s


def _def_name(raw: Sequence[tokenize.TokenInfo], i: int) -> bool:
    """Whether the bracket at ``raw[i]`` opens a def's parameter list (``def NAME (``)."""
    return i >= 2 and raw[i - 2].type == tk.NAME and raw[i - 2].string == "def"


def _skip_annotation(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    """The index of what ends the annotation starting at ``raw[i]`` (``:`` or ``->``): the
    next ``,`` ``=`` or closing bracket of a parameter, or the ``:`` after a return type."""
    depth = 0
    ends = ":" if raw[i].string == "->" else ",="
    i += 1
    while i < len(raw):
        s = raw[i].string
        if raw[i].type == tk.OP:
            if s in "([{":
                depth += 1
            elif s in ")]}":
                if depth == 0:
                    return i
                depth -= 1
            elif depth == 0 and s in ends:
                return i
        elif raw[i].type in (tk.NEWLINE, tk.ENDMARKER):
            return i
        i += 1
    return i


def _skip_call(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    """The index after the bracket that closes the one at ``raw[i]``."""
    depth = 0
    while i < len(raw):
        if raw[i].type == tk.OP and raw[i].string in "([{":
            depth += 1
        elif raw[i].type == tk.OP and raw[i].string in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _skip_fstring(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    while i < len(raw) and raw[i].type != _FSTRING_END:
        i += 1
    return i + 1


def _statement_is_string(raw: Sequence[tokenize.TokenInfo], i: int) -> bool:
    """Whether the statement starting at ``raw[i]`` is nothing but string literals."""
    while i < len(raw):
        t = raw[i]
        if t.type in (tk.NEWLINE, tk.ENDMARKER):
            return True
        if t.type not in (tk.STRING, tk.NL, tk.COMMENT):
            return False
        i += 1
    return True


def _skip_statement(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    while i < len(raw) and raw[i].type not in (tk.NEWLINE, tk.ENDMARKER):
        i += 1
    return i + 1


# --------------------------------------------------------------------------- fingerprints

@functools.lru_cache(maxsize=1 << 16)
def _token_id(word: str) -> int:
    # crc32, not hash(): str hashes change from one process to the next, and the
    # fingerprints must not (an archive indexed today is compared tomorrow).
    return zlib.crc32(word.encode("utf-8"))


def kgram_hashes(words: Sequence[str], k: int = K) -> list[int]:
    """The hash of every run of ``k`` consecutive tokens (``len(words) - k + 1`` of them).

    A tuple of ints hashes the same in every process (only str and bytes hashes are
    salted), so these hashes are stable."""
    ids = [_token_id(w) for w in words]
    return [hash(tuple(ids[p : p + k])) for p in range(len(ids) - k + 1)]


def winnow(hashes: Sequence[int], w: int = W) -> list[tuple[int, int]]:
    """Winnowing (Schleimer et al. 2003, fig. 5): in each window of ``w`` consecutive
    hashes the minimum (the rightmost one on ties) is kept; each kept (hash, position)
    is recorded once. A document shorter than one window keeps its minimum."""
    if not hashes:
        return []
    if len(hashes) <= w:
        m = min(hashes)
        p = max(i for i, h in enumerate(hashes) if h == m)
        return [(m, p)]
    kept: list[tuple[int, int]] = []
    last = -1
    for start in range(len(hashes) - w + 1):
        window = hashes[start : start + w]
        m = min(window)
        p = start + w - 1 - window[::-1].index(m)
        if p != last:
            kept.append((m, p))
            last = p
    return kept


@dataclass(frozen=True)
class Course:
    """The code every student was given (starter file, shipped helpers), normalised:
    its statements, dropped wherever a student's file repeats one (a ``def`` line with the
    contract's parameters, the imports), and its k-gram hashes, dropped from every
    student's fingerprints (longer stretches kept from the starter)."""

    statements: frozenset[tuple[str, ...]] = frozenset()
    kgrams: frozenset[int] = frozenset()


NO_COURSE = Course()
COURSE_KGRAM = -1  # stands for a course k-gram in Document.kgrams (hash() never returns -1)


def course_code(sources: Iterable[str], k: int = K) -> Course:
    """The :class:`Course` of the starter and helper files' texts."""
    statements: set[tuple[str, ...]] = set()
    kgrams: set[int] = set()
    for s in sources:
        toks = normalise(s)
        statements.update(_statements(toks.text))
        kgrams.update(kgram_hashes(toks.text, k))
    return Course(frozenset(statements), frozenset(kgrams))


def _statements(words: Sequence[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    start = 0
    for i, w in enumerate(words):
        if w == ";":
            out.append(tuple(words[start : i + 1]))
            start = i + 1
    if start < len(words):
        out.append(tuple(words[start:]))
    return out


def _without_course(toks: Tokens, course: Course) -> Tokens:
    """``toks`` without the statements that are the course's own."""
    if not course.statements:
        return toks
    text: list[str] = []
    lines: list[int] = []
    start = 0
    for stmt in _statements(toks.text):
        end = start + len(stmt)
        if stmt not in course.statements:
            text.extend(stmt)
            lines.extend(toks.lines[start:end])
        start = end
    return Tokens(tuple(text), tuple(lines))


@dataclass(frozen=True)
class Document:
    """One file, fingerprinted. ``id`` is the submission id (or ``archive:…``); ``tokens``
    are what is left of it once the course's statements are taken out."""

    id: str
    path: str
    archive: bool
    tokens: Tokens
    kgrams: tuple[int, ...]  # every k-gram's hash; the course's k-grams are COURSE_KGRAM
    fingerprints: frozenset[int]  # the winnowed hashes, course code removed
    own: int  # tokens not covered by the course's code


def fingerprint(
    doc_id: str, source: str, path: str = "", *, archive: bool = False,
    course: Course = NO_COURSE, k: int = K, w: int = W,
) -> Document:
    """Normalise ``source``, take the course's statements out, hash the k-grams and
    winnow them; k-grams of the course's code never become fingerprints."""
    toks = _without_course(normalise(source), course)
    hashes = kgram_hashes(toks.text, k)
    kept = frozenset(h for h, _ in winnow(hashes, w) if h not in course.kgrams)
    covered = _coverage(hashes, course.kgrams, k, len(toks.text)) if course.kgrams else 0
    own = tuple(COURSE_KGRAM if h in course.kgrams else h for h in hashes)
    return Document(doc_id, path, archive, toks, own, kept, len(toks.text) - covered)


def _coverage(hashes: Sequence[int], wanted: frozenset[int] | set[int], k: int, n: int) -> int:
    """How many of the ``n`` tokens lie in a k-gram whose hash is in ``wanted``."""
    return sum(e - s for s, e in _runs(hashes, wanted, k, n))


def _runs(hashes: Sequence[int], wanted: frozenset[int] | set[int], k: int, n: int) -> list[tuple[int, int]]:
    """Token ranges [start, end) covered by k-grams whose hash is in ``wanted``, merged."""
    runs: list[tuple[int, int]] = []
    for p, h in enumerate(hashes):
        if h in wanted:
            end = min(p + k, n)
            if runs and p <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], end))
            else:
                runs.append((p, end))
    return runs


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Match:
    """Two files that share code: the share of each file's own code (course code left
    out) that is in matched regions, and those regions as line ranges."""

    a: str
    b: str
    a_path: str
    b_path: str
    shared: int  # fingerprints the two share (what the index counted)
    a_tokens: int  # tokens of a in matched code
    b_tokens: int
    a_share: float  # a_tokens / a's own tokens
    b_share: float
    a_lines: tuple[tuple[int, int], ...]
    b_lines: tuple[tuple[int, int], ...]
    archive: bool = False  # one of the two is from an earlier class

    @property
    def matched(self) -> int:
        """The size of the match in tokens (the smaller side): what the report ranks by."""
        return min(self.a_tokens, self.b_tokens)

    def rank_key(self) -> tuple[float, ...]:
        return (-self.matched, -max(self.a_share, self.b_share), -self.shared)


def compare(
    docs: Sequence[Document], *, k: int = K, max_holders: int = MAX_HOLDERS,
    min_shared: int = MIN_SHARED, min_match: int = MIN_MATCH,
) -> list[Match]:
    """Every pair of ``docs`` sharing code, largest match first. Two archive files are
    never compared with each other (an earlier class is not this class's business).

    The inverted index makes the work proportional to the shared fingerprints: a
    fingerprint held by h ≤ ``max_holders`` files adds h(h−1)/2 pair counts, so the
    cost is bounded by (number of fingerprints) × max_holders², never n²/2 pairs."""
    index: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        for h in d.fingerprints:
            index[h].append(i)
    common = {h for h, holders in index.items() if len(holders) > max_holders}
    counts: Counter[tuple[int, int]] = Counter()
    for holders in index.values():
        if 2 <= len(holders) <= max_holders:
            counts.update(
                (i, j) for i, j in itertools.combinations(holders, 2)
                if not (docs[i].archive and docs[j].archive)
            )
    sets: dict[int, set[int]] = {}

    def grams(i: int) -> set[int]:
        if i not in sets:
            sets[i] = set(docs[i].kgrams) - common - {COURSE_KGRAM}
        return sets[i]

    matches: list[Match] = []
    for (i, j), shared in counts.items():
        if shared < min_shared:
            continue
        m = _detail(docs[i], docs[j], grams(i), grams(j), shared, k)
        if m.matched >= min_match and m.matched > 0:
            matches.append(m)
    matches.sort(key=lambda m: (m.rank_key(), m.a, m.b))
    return matches


def _detail(da: Document, db: Document, ga: set[int], gb: set[int], shared: int, k: int) -> Match:
    both = ga & gb  # course code is already out of the fingerprints; take it out here too
    runs_a = _runs(da.kgrams, both, k, len(da.tokens.text))
    runs_b = _runs(db.kgrams, both, k, len(db.tokens.text))
    ta = sum(e - s for s, e in runs_a)
    tb = sum(e - s for s, e in runs_b)
    # archive files are listed second so the class's student is always `a`
    if da.archive and not db.archive:
        da, db, ta, tb, runs_a, runs_b = db, da, tb, ta, runs_b, runs_a
    return Match(
        a=da.id, b=db.id, a_path=da.path, b_path=db.path, shared=shared,
        a_tokens=ta, b_tokens=tb,
        a_share=min(1.0, ta / da.own) if da.own > 0 else 0.0,
        b_share=min(1.0, tb / db.own) if db.own > 0 else 0.0,
        a_lines=_line_ranges(runs_a, da.tokens.lines),
        b_lines=_line_ranges(runs_b, db.tokens.lines),
        archive=da.archive or db.archive,
    )


def _line_ranges(runs: Sequence[tuple[int, int]], lines: Sequence[int]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for s, e in runs:
        lo, hi = lines[s], lines[e - 1]
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


# --------------------------------------------------------------------------- a class


@dataclass(frozen=True)
class Report:
    """The outcome for a class: matches ranked, plus what was compared and left out."""

    matches: tuple[Match, ...]
    files: int  # class files compared
    archive_files: int
    course_files: tuple[str, ...]  # starter and helpers subtracted
    unreadable: tuple[str, ...]  # submissions whose file could not be read

    note = NOTE


def read_code(path: Path, limit: int = 1 << 20) -> str:
    """A submission's Python code: a ``.py`` file's text, or a notebook's code cells as
    one module (the form the grader ran). Undecodable bytes are replaced."""
    if path.suffix == ".ipynb":
        from gradgrader.ingest.notebook import notebook_module

        return notebook_module(path, path.with_suffix(".py").name).source
    with path.open("rb") as f:
        return f.read(limit).decode("utf-8", errors="replace")


def course_files(assignment_root: Path | None, helpers: Sequence[str] = ()) -> list[Path]:
    """The assignment's starter file and the Python files among its helpers."""
    if assignment_root is None:
        return []
    files = [assignment_root / "starter.py"] if (assignment_root / "starter.py").is_file() else []
    for h in helpers:
        p = assignment_root / h
        if p.is_file() and p.suffix == ".py":
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.py") if q.is_file()))
    return files


def archive_files(folder: Path) -> list[Path]:
    """Every ``.py`` and ``.ipynb`` file under ``folder`` (checkpoints and caches left out)."""
    skip = {"__pycache__", ".ipynb_checkpoints"}
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix in (".py", ".ipynb") and p.is_file() and not skip & set(p.parts)
    )


def _fingerprint_files(items: Sequence[tuple[str, str, bool]], course: Course) -> list[Document | str]:
    """Fingerprint ``(id, path, archive)`` files; a file that cannot be read gives a
    message instead. Module-level: it runs in worker processes too."""
    out: list[Document | str] = []
    for sid, path, archive in items:
        try:
            code = read_code(Path(path))
        except (OSError, ValueError) as exc:
            out.append(f"{sid} ({getattr(exc, 'strerror', None) or exc})")
            continue
        out.append(fingerprint(sid, code, path, archive=archive, course=course))
    return out


PARALLEL_FROM = 200  # files: below this, starting worker processes costs more than it saves


def analyse(
    submissions: Sequence[tuple[str, Path]],
    course: Sequence[Path] = (),
    archive: Path | None = None,
    *, max_holders: int = MAX_HOLDERS, min_match: int = MIN_MATCH, jobs: int = 1,
) -> Report:
    """Compare the class's files (``(id, path)`` pairs) with each other and with every
    file of ``archive``, with the code of the ``course`` files subtracted.

    Tokenizing is most of the time (the ``tokenize`` module is pure Python): with
    ``jobs`` > 1 and a large class it is spread over that many processes. The index and
    the comparison run here."""
    boiler = course_code(read_code(p) for p in course)
    items = [(sid, str(path), False) for sid, path in submissions]
    if archive is not None:
        items += [(f"archive:{p.relative_to(archive).as_posix()}", str(p), True) for p in archive_files(archive)]
    if jobs > 1 and len(items) >= PARALLEL_FROM:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        size = -(-len(items) // (jobs * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        # spawn, not fork: the review app calls this from a thread
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = [d for part in pool.map(_fingerprint_files, chunks, [boiler] * len(chunks)) for d in part]
    else:
        done = _fingerprint_files(items, boiler)
    docs = [d for d in done if isinstance(d, Document)]
    unreadable = [d for d, (_, _, arch) in zip(done, items, strict=True) if isinstance(d, str) and not arch]
    matches = compare(docs, max_holders=max_holders, min_match=min_match)
    n_class = sum(1 for d in docs if not d.archive)
    return Report(
        tuple(matches), n_class, len(docs) - n_class, tuple(str(p) for p in course), tuple(unreadable)
    )


def class_submissions(out: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """The class's files from a results folder: each result's recorded file (found the way
    ``review`` finds it). Returns the ``(id, path)`` pairs and the ids whose file is gone."""
    from gradgrader.results import read_results
    from gradgrader.review import load_run, source_path

    run = load_run(out)
    found: list[tuple[str, Path]] = []
    missing: list[str] = []
    for r in sorted(read_results(out), key=lambda r: r["submission"]):
        path = source_path(r, run)
        if path is None:
            missing.append(r["submission"])
        else:
            found.append((r["submission"], path))
    return found, missing


def course_of_run(out: Path) -> tuple[list[Path], str | None]:
    """The starter and helper files of the assignment a results folder was graded with,
    and a warning when the assignment cannot be found (then nothing is subtracted)."""
    from gradgrader.assignment import load_assignment
    from gradgrader.errors import GradgraderError
    from gradgrader.review import load_run

    run = load_run(out)
    where = run.get("assignment_path") or run.get("assignment")
    if not where:
        return [], f"{out / 'run.json'} names no assignment: the starter file is not subtracted"
    try:
        spec = load_assignment(where if Path(where).is_dir() else run.get("assignment", where))
    except GradgraderError as exc:
        return [], f"the assignment {where} cannot be loaded ({exc}): the starter file is not subtracted"
    files = course_files(spec.root, spec.helpers)
    if not files:
        return [], f"the assignment {spec.name} has no starter.py: nothing is subtracted"
    return files, None


# --------------------------------------------------------------------------- the CSV

COLUMNS = (
    "rank", "a", "b", "a_share", "b_share", "matched_tokens", "shared_fingerprints",
    "a_lines", "b_lines", "a_path", "b_path", "archive",
)


def format_lines(ranges: Iterable[tuple[int, int]]) -> str:
    """``12-30;45;50-52``: line ranges as a spreadsheet shows them."""
    return ";".join(f"{a}-{b}" if b > a else f"{a}" for a, b in ranges)


def parse_lines(text: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            out.append((int(lo), int(hi or lo)))
        except ValueError:
            continue
    return tuple(out)


def write_csv(out: Path, report: Report) -> Path:
    """``OUT/similarity.csv``: one row per pair, ranked. Its first line is a ``#`` comment
    with :data:`NOTE`, so whoever opens the file reads it (``pandas.read_csv(…, comment="#")``)."""
    buf = io.StringIO()
    buf.write(f"# {NOTE}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for rank, m in enumerate(report.matches, 1):
        w.writerow([
            rank, csv_cell(m.a), csv_cell(m.b), f"{m.a_share:.3f}", f"{m.b_share:.3f}", m.matched, m.shared,
            format_lines(m.a_lines), format_lines(m.b_lines), csv_cell(m.a_path), csv_cell(m.b_path),
            "yes" if m.archive else "",
        ])
    path = out / SIMILARITY
    atomic_write(path, buf.getvalue())
    return path


def _uncell(value: str) -> str:
    """The text :func:`csv_cell` protected (a leading ``'`` before a formula character)."""
    return value[1:] if value[:1] == "'" and value[1:2] in {"=", "+", "-", "@", "\t", "\r"} else value


def read_csv(path: Path) -> list[Match]:
    """The matches of a ``similarity.csv`` (as :func:`write_csv` wrote it), ranked."""
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    out: list[Match] = []
    for row in rows:
        try:
            matched = int(row.get("matched_tokens") or 0)
            out.append(Match(
                a=_uncell(row["a"]), b=_uncell(row["b"]),
                a_path=_uncell(row.get("a_path", "")), b_path=_uncell(row.get("b_path", "")),
                shared=int(row.get("shared_fingerprints") or 0),
                a_tokens=matched, b_tokens=matched,
                a_share=float(row.get("a_share") or 0), b_share=float(row.get("b_share") or 0),
                a_lines=parse_lines(row.get("a_lines", "")), b_lines=parse_lines(row.get("b_lines", "")),
                archive=row.get("archive") == "yes",
            ))
        except (KeyError, ValueError, TypeError):
            continue
    return out


def lines_in(ranges: Iterable[tuple[int, int]]) -> set[int]:
    """Every line number of ``ranges``."""
    out: set[int] = set()
    for lo, hi in ranges:
        out.update(range(lo, hi + 1))
    return out


def as_rows(report: Report, top: int | None = None) -> list[dict[str, Any]]:
    """The matches as plain dicts (for ``--json``)."""
    return [
        {
            "rank": i, "a": m.a, "b": m.b, "a_share": round(m.a_share, 3), "b_share": round(m.b_share, 3),
            "matched_tokens": m.matched, "a_lines": [list(r) for r in m.a_lines],
            "b_lines": [list(r) for r in m.b_lines], "a_path": m.a_path, "b_path": m.b_path,
            "archive": m.archive,
        }
        for i, m in enumerate(report.matches[:top] if top else report.matches, 1)
    ]
