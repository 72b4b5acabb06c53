"""Steps 3 and 4 of the method (see :mod:`gradgrader.similarity`): an inverted index from
fingerprint to files yields the candidate pairs; each candidate is then measured k-gram
by k-gram into a :class:`Match` (the share of each file in matched code, the lines).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from gradgrader.similarity.fingerprints import COURSE_KGRAM, Document, K, covered_runs

MAX_HOLDERS = 10  # a fingerprint in more files than this is common idiom (MOSS's -m)
MIN_SHARED = 2  # fingerprints two files must share to be compared token by token
# A pair is reported when each file has at least this many tokens in matched code: about
# three lines of numpy. Below that, shared code is a formula anyone writes the same way
# (the stable log-sum-exp one-liner alone is ~30 tokens with its neighbours).
MIN_MATCH = 40


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
    runs_a = covered_runs(da.kgrams, both, k, len(da.tokens.text))
    runs_b = covered_runs(db.kgrams, both, k, len(db.tokens.text))
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
