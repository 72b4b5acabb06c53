"""Agreement of `gradgrader grade` with an independent oracle, per assignment and function.

A corpus is a folder with one sub-folder per assignment, laid out as `grade` takes a
class (one sub-folder per submission, holding the file the assignment names and any
helper modules beside it), plus a labels file written by an oracle that does not use
gradgrader: for each submission and each graded function, whether a careful TA would
call it correct, with a short category::

    CORPUS/
      labels.json                 {assignment: {submission: {function:
                                     {"correct": bool, "category": str, "detail": str}}}}
      cs231n-softmax/<id>/softmax.py
      mit686x-em/<id>/naive_em.py  (+ common.py)
      cs229-gmm/<id>/gmm.py

The corpus itself (public student code) is never part of this repository.

For each assignment this grades the class with `gradgrader grade` into a temporary
OUT, reads OUT/results.jsonl and, for every function, compares "grade gives the
function all of its points" with "the oracle says the function is correct". Checks
worth no points (advice) are ignored. It prints, per assignment: the number of files;
per function the agreement, the correct functions that lost points and the incorrect
ones that got full marks; and the disagreements grouped by category (the oracle's
category and the checks that cost points, or the mistakes grade named), with example
submission ids.

Usage (from the repository root, with the venv that has gradgrader installed):

    .venv/bin/python benchmarks/agreement.py /work/corpus
    .venv/bin/python benchmarks/agreement.py CORPUS --assignments cs229-gmm --jobs 2 \
        --labels CORPUS/labels.json --json agreement.json --keep-out out/agreement

`--gradgrader CMD` runs another gradgrader (default: this Python's `-m gradgrader`).
Exit status: 0 when every assignment was graded (whatever the agreement), 2 when the
corpus or labels are missing or `grade` itself failed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ASSIGNMENTS = ("cs231n-softmax", "mit686x-em", "cs229-gmm")
EXAMPLES = 3  # example submission ids shown per disagreement category


def read_results(out: Path) -> dict[str, dict[str, Any]]:
    """The last result line of each submission (a re-grade appends a newer one)."""
    results: dict[str, dict[str, Any]] = {}
    path = out / "results.jsonl"
    if not path.exists():
        return results
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line
        if "submission" in obj:
            results[obj["submission"]] = obj
    return results


def function_verdicts(result: dict[str, Any], functions: list[str]) -> dict[str, dict[str, Any]]:
    """Per function: full marks or not, and what cost points (check ids, named mistakes)."""
    verdicts: dict[str, dict[str, Any]] = {}
    checks = result.get("checks") or []
    for fn in functions:
        mine = [c for c in checks if c.get("function") == fn and float(c.get("max_score", 0)) > 0]
        lost = [c for c in mine if float(c.get("score", 0)) < float(c.get("max_score", 0)) - 1e-9]
        full = result.get("status") == "graded" and bool(mine) and not lost
        mistakes = sorted({m for c in lost for m in c.get("mistakes", ())})
        if result.get("status") != "graded":
            why = f"status {result.get('status')}"
            msg = (result.get("message") or "").strip().splitlines()
            if msg:
                why += ": " + msg[0][:80]
        elif not mine:
            why = "no scored check ran"
        else:
            why = ", ".join(sorted(c["id"].split(".", 1)[-1] for c in lost))
            if mistakes:
                why += " [" + ", ".join(mistakes) + "]"
        verdicts[fn] = {"full": full, "why": why}
    return verdicts


def grade(cmd: list[str], class_dir: Path, assignment: str, out: Path, jobs: int) -> None:
    args = [*cmd, "grade", str(class_dir), "--assignment", assignment, "--out", str(out), "--jobs", str(jobs)]
    proc = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"`{shlex.join(args)}` exited {proc.returncode}: " + " | ".join(tail))


def compare(assignment: str, labels: dict[str, Any], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    functions = sorted({fn for per in labels.values() for fn in per})
    rows: dict[str, dict[str, int]] = {fn: defaultdict(int) for fn in functions}
    groups: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    ungraded = sorted(set(labels) - set(results))
    files = 0
    both_agree = 0
    for sid in sorted(labels):
        if sid not in results:
            continue
        files += 1
        verdicts = function_verdicts(results[sid], functions)
        all_agree = True
        for fn in functions:
            lab = labels[sid].get(fn)
            if lab is None:
                continue
            ok, full = bool(lab["correct"]), verdicts[fn]["full"]
            r = rows[fn]
            r["n"] += 1
            r["oracle_correct"] += ok
            r["grade_full"] += full
            if ok == full:
                r["agree"] += 1
                continue
            all_agree = False
            if ok:
                r["correct_lost"] += 1
                groups[(fn, "correct but lost points", lab["category"], verdicts[fn]["why"])].append(sid)
            else:
                r["incorrect_full"] += 1
                groups[(fn, "incorrect but full marks", lab["category"], lab.get("detail", "")[:90])].append(sid)
        both_agree += all_agree
    cats = [
        {"function": k[0], "kind": k[1], "oracle": k[2], "grade": k[3], "count": len(v), "examples": v[:EXAMPLES]}
        for k, v in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], -len(kv[1]), kv[0][2]))
    ]
    return {
        "assignment": assignment,
        "files": files,
        "files_all_functions_agree": both_agree,
        "not_graded": ungraded,
        "functions": {fn: dict(rows[fn]) for fn in functions},
        "disagreements": cats,
    }


def render(report: dict[str, Any]) -> str:
    a = report["assignment"]
    lines = [f"## {a}: {report['files']} files, {report['files_all_functions_agree']} with every function agreeing", ""]
    if report["not_graded"]:
        lines.append(f"not in grade's results: {', '.join(report['not_graded'])}")
        lines.append("")
    lines.append("| function | files | oracle correct | grade full marks | agreement | correct but lost points | incorrect but full marks |")
    lines.append("|---|---|---|---|---|---|---|")
    for fn, r in report["functions"].items():
        n = r.get("n", 0)
        pct = 100.0 * r.get("agree", 0) / n if n else 0.0
        lines.append(
            f"| `{fn}` | {n} | {r.get('oracle_correct', 0)} | {r.get('grade_full', 0)} | "
            f"{r.get('agree', 0)}/{n} ({pct:.0f}%) | {r.get('correct_lost', 0)} | {r.get('incorrect_full', 0)} |"
        )
    lines.append("")
    if report["disagreements"]:
        lines.append("Disagreements (function — kind — oracle category — what grade did — count — examples):")
        lines.append("")
        for c in report["disagreements"]:
            lines.append(
                f"- `{c['function']}` — {c['kind']} — {c['oracle']} — {c['grade'] or '-'} — "
                f"{c['count']} — {', '.join(c['examples'])}"
            )
    else:
        lines.append("No disagreements.")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus", type=Path, help="folder with one sub-folder per assignment (see the module docstring)")
    p.add_argument("--labels", type=Path, help="the oracle's labels (default: CORPUS/labels.json)")
    p.add_argument("--assignments", default=",".join(ASSIGNMENTS), help="comma-separated (default: all three)")
    p.add_argument("--jobs", type=int, default=2, help="passed to grade --jobs (default 2)")
    p.add_argument("--gradgrader", default=f"{shlex.quote(sys.executable)} -m gradgrader", help="command to run gradgrader")
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    p.add_argument("--keep-out", type=Path, help="grade into DIR/<assignment> and keep it (default: a temporary folder)")
    args = p.parse_args(argv)

    labels_path = args.labels or args.corpus / "labels.json"
    if not labels_path.is_file():
        print(f"agreement: no labels file at {labels_path}", file=sys.stderr)
        return 2
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    cmd = shlex.split(args.gradgrader)
    reports = []
    for a in [x.strip() for x in args.assignments.split(",") if x.strip()]:
        class_dir = args.corpus / a
        if not class_dir.is_dir() or a not in labels:
            print(f"agreement: {a}: no folder {class_dir} or no labels for it", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix=f"agreement-{a}-") as tmp:
            out = args.keep_out / a if args.keep_out else Path(tmp) / "out"
            t0 = time.monotonic()
            try:
                grade(cmd, class_dir, a, out, args.jobs)
            except RuntimeError as e:
                print(f"agreement: {a}: {e}", file=sys.stderr)
                return 2
            elapsed = time.monotonic() - t0
            report = compare(a, labels[a], read_results(out))
        report["grade_seconds"] = round(elapsed, 1)
        reports.append(report)
        print(render(report) + f"(grade took {elapsed:.0f} s)\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
