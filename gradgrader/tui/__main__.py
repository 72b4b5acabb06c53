"""``python -m gradgrader.tui OUT``: the review UI without the CLI (benchmarks, development)."""

from __future__ import annotations

import sys
from pathlib import Path

from gradgrader.tui import run_review

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m gradgrader.tui OUT   (a folder written by gradgrader grade)")
    out = Path(sys.argv[1])
    if not (out / "results.jsonl").is_file():
        sys.exit(f"{out}: no results.jsonl here (run gradgrader grade … --out {out} first)")
    run_review(out)
