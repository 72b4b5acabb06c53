"""Do two source trees give every shipped sample the same verdict?

    python benchmarks/same_verdicts.py OLD NEW          # exit 0 when they do

A speed change must change no verdict (issue 17). OLD and NEW are checkouts (``git
worktree add --detach /tmp/old <commit>``); each grades every sample folder of every
shipped assignment with ``gradgrader grade --jobs 2`` under one fixed secret, with its own
tree first on ``PYTHONPATH``. Compared per submission: status, score, mistakes and, per
check, passed, score, mistakes, message and diagnosis; per case, passed (not the case's
error: its last bits may move with the arithmetic and change no verdict).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from ab_trees import _env  # noqa: E402 - a tree's environment, as ab_trees runs it

CHECK_FIELDS = ("passed", "score", "max_score", "mistakes", "message", "diagnosis")


def grade(tree: str, assignment: str, out: Path) -> dict[str, dict]:
    env = {**_env(tree), "GRADGRADER_SECRET": "same-verdicts"}
    run = subprocess.run(
        [sys.executable, "-m", "gradgrader", "grade", str(ROOT / "assignments" / assignment / "samples"),
         "--assignment", assignment, "--out", str(out), "--jobs", "2", "--quiet"],
        env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )
    if not (out / "results.jsonl").is_file():
        sys.exit(f"{tree}: grade {assignment} wrote no results (exit {run.returncode}):\n{run.stderr}")
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["submission"]: r for r in map(json.loads, lines)}


def differences(old: dict, new: dict) -> list[str]:
    found = [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in ("status", "score", "max_score", "mistakes") if old.get(k) != new.get(k)]
    olds, news = {c["id"]: c for c in old.get("checks", [])}, {c["id"]: c for c in new.get("checks", [])}
    if olds.keys() != news.keys():
        found.append(f"checks: {sorted(olds)} → {sorted(news)}")
    for cid in olds.keys() & news.keys():
        a, b = olds[cid], news[cid]
        found += [f"{cid}.{k}: {a.get(k)!r} → {b.get(k)!r}" for k in CHECK_FIELDS if a.get(k) != b.get(k)]
        cases_a = [(c["case"], c["passed"]) for c in a.get("cases", [])]
        cases_b = [(c["case"], c["passed"]) for c in b.get("cases", [])]
        if cases_a != cases_b:
            found.append(f"{cid}.cases: {cases_a} → {cases_b}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    args = parser.parse_args()
    assignments = sorted(p.parents[1].name for p in (ROOT / "assignments").glob("*/samples/EXPECTED.toml"))
    changed = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in assignments:
            old = grade(args.old, name, Path(tmp) / "old" / name)
            new = grade(args.new, name, Path(tmp) / "new" / name)
            if old.keys() != new.keys():
                print(f"{name}: submissions {sorted(old)} → {sorted(new)}")
                changed += 1
            for sid in sorted(old.keys() & new.keys()):
                total += 1
                diff = differences(old[sid], new[sid])
                if diff:
                    changed += 1
                    print(f"{name}/{sid}:", *diff, sep="\n  ")
    print(f"{total} samples of {len(assignments)} assignments: {changed} with another verdict")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
