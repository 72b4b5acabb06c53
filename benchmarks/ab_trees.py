"""Two source trees of gradgrader, measured alternately in the same minutes.

    python benchmarks/ab_trees.py OLD NEW --grade 600 --rounds 3   # ms per submission
    python benchmarks/ab_trees.py OLD NEW --check 20               # one check, ms

OLD and NEW are checkouts (``git worktree add /tmp/old <commit>``); each runs with its
own tree first on ``PYTHONPATH`` and this environment's Python and packages. The host of
a virtual machine changes speed by tens of per cent within minutes, and not evenly for
all work, so a change is only measured against the tree before it, alternating
(docs/performance.md). ``--grade`` grades generated softmax submissions (the mix of
``bench_grade.py``) with ``--jobs 2``; ``--check`` times ``check softmax.py --json`` and
the terminal's view (piped) of one correct submission, as a student types them (the
assignment detected; the installed ``gradgrader`` script when there is one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_grade  # noqa: E402


def _env(tree: str) -> dict[str, str]:
    # Bytecode written as an install writes it (see bench_grade._timed).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    return {**env, "PYTHONPATH": tree}


def _timed(cmd: list[str], tree: str, cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=_env(tree), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def grade(trees: list[str], n: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gradgrader-ab-") as tmp:
        folder = Path(tmp) / "class"
        bench_grade.make_class(folder, n)
        for _ in range(rounds):
            for tree in trees:
                out = Path(tmp) / "out"
                cmd = [*bench_grade.GRADGRADER, "grade", str(folder), "--assignment", "softmax",
                       "--out", str(out), "--jobs", "2", "--quiet"]
                took = _timed(cmd, tree, tmp)
                subprocess.run(["rm", "-rf", str(out)], check=False)
                print(f"{tree}: {took / n * 1e3:.1f} ms per submission", flush=True)


def check(trees: list[str], k: int) -> None:
    path = str(bench_grade.SAMPLES / "correct-vectorized" / "softmax.py")
    cmds = {"--json": ["--json"], "view": []}
    times: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in cmds}
    with tempfile.TemporaryDirectory(prefix="gradgrader-ab-") as tmp:
        for tree in trees:  # warm the page cache and each tree's caches
            _timed([*bench_grade.GRADGRADER, "check", path, "--json"], tree, tmp)
        for _ in range(k):
            for name, extra in cmds.items():
                for tree in trees:
                    cmd = [*bench_grade.GRADGRADER, "check", path, *extra]  # as a student types it
                    times[tree, name].append(_timed(cmd, tree, tmp))
    for (tree, name), got in times.items():
        print(f"{tree} {name}: median {statistics.median(got) * 1e3:.0f} ms of {k}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--grade", type=int, metavar="N", help="grade N generated submissions")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", type=int, metavar="K", help="K alternating checks of each tree")
    args = parser.parse_args()
    trees = [str(Path(args.old).resolve()), str(Path(args.new).resolve())]
    if args.grade:
        grade(trees, args.grade, args.rounds)
    if args.check:
        check(trees, args.check)
    if not (args.grade or args.check):
        parser.error("give --grade N or --check K")


if __name__ == "__main__":
    main()
