"""``OUT/similarity.csv`` (written, and read back by the review screen) and the rows of
``gradgrader similarity --json``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gradgrader.results import atomic_write, csv_cell
from gradgrader.similarity.compare import Match
from gradgrader.similarity.report import NOTE, Report

SIMILARITY = "similarity.csv"
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
