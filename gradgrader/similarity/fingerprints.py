"""Step 2 of the method (see :mod:`gradgrader.similarity`): k-gram hashes of a file's
normalised tokens, winnowed into fingerprints, with the course's code (starter file,
shipped helpers) taken out first: a :class:`Document` per file.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gradgrader.similarity.tokens import Tokens, normalise

# K: the noise threshold. 12 normalised tokens is about one line of numpy
# (`V = V . exp ( V - V . max ( ...`): shorter shared runs are idiom, not copying.
K = 12
# W: the window. Any shared run of K + W - 1 = 17 tokens (about a line and a half) is
# guaranteed to be found; winnowing keeps ~2/(W+1) of the k-grams (the paper's density).
W = 6


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
    return sum(e - s for s, e in covered_runs(hashes, wanted, k, n))


def covered_runs(hashes: Sequence[int], wanted: frozenset[int] | set[int], k: int, n: int) -> list[tuple[int, int]]:
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
