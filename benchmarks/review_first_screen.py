"""Time to first screen of ``gradgrader review`` on a large class, measured in a real terminal.

Synthesises a results folder of N results (default 2,000) from the results of a real
grade run (by default it grades the softmax samples once), starts the review UI in a
detached tmux session of 80×24, and polls ``tmux capture-pane`` until the table shows
its first row (first screen) and until every row is loaded (status line ``N/N shown``
without ``loading…``). Prints the median and the spread over several runs, and the machine.

    python benchmarks/review_first_screen.py                 # 2,000 results, 5 runs
    python benchmarks/review_first_screen.py --results /tmp/rv --n 10000 --runs 3

Uses private tmux servers (``-S`` sockets in a temporary folder), so it never touches the
user's tmux sessions and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grade_samples(dest: Path) -> Path:
    """A real results folder: the softmax samples graded once."""
    out = dest / "samples-out"
    cmd = [
        sys.executable,
        "-m",
        "gradgrader",
        "grade",
        str(ROOT / "assignments/softmax/samples"),
        "-a",
        "softmax",
        "-o",
        str(out),
        "-q",
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def synthesise(src: Path, dest: Path, n: int) -> list[str]:
    """``dest/results.jsonl`` with ``n`` results cycled from ``src``'s, ids made unique;
    returns the ids, sorted (the table's first row is the first of them)."""
    samples = [
        json.loads(line)
        for line in (src / "results.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if not samples:
        sys.exit(f"{src}: no results to copy")
    dest.mkdir(parents=True, exist_ok=True)
    ids = []
    with (dest / "results.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n):
            r = dict(samples[i % len(samples)])
            r["submission"] = f"{r['submission']}-{i:05d}"
            ids.append(r["submission"])
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if (src / "run.json").is_file():
        shutil.copy(src / "run.json", dest / "run.json")
    return sorted(ids)


def review_command(out: Path) -> list[str]:
    """``gradgrader review OUT`` when the CLI has it, else the package's own entry point."""
    probe = subprocess.run(
        [sys.executable, "-m", "gradgrader", "review", "--help"], capture_output=True, cwd=ROOT
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "gradgrader", "review", str(out)]
    return [sys.executable, "-m", "gradgrader.tui", str(out)]


def tmux(socket: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["tmux", "-S", str(socket), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        sys.exit(f"tmux {' '.join(args[:1])} failed: {done.stderr.strip()}")
    return done.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its children so far (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += cpu_seconds(int(child))
    except (OSError, IndexError, ValueError):
        pass
    return total


@dataclass
class Run:
    first: float  # wall seconds from start to the table's first rows on screen
    first_cpu: float  # CPU seconds the app had used by then: the wall time on an idle machine
    full: float  # wall seconds until every row is loaded
    screen: str  # the first screen as captured


def one_run(
    socket: Path,
    cmd: list[str],
    first_id: str,
    n: int,
    size: tuple[int, int],
    timeout: float = 60.0,
) -> Run:
    """Start the UI in a fresh tmux server and poll its screen until the table shows."""
    env = f"TERM=xterm-256color COLORTERM=truecolor GRADGRADER_KEYMAP={shlex.quote(os.devnull)}"
    size_args = ["-x", str(size[0]), "-y", str(size[1])]
    start = time.perf_counter()
    tmux(
        socket, "new-session", "-d", "-s", "bench", *size_args, f"exec env {env} {shlex.join(cmd)}"
    )
    pid = int(tmux(socket, "display-message", "-p", "-t", "bench", "#{pane_pid}").strip() or 0)
    first: tuple[float, float, str] | None = None
    screen = ""
    try:
        while time.perf_counter() - start < timeout:
            screen = tmux(socket, "capture-pane", "-p", "-t", "bench", check=False)
            now = time.perf_counter() - start
            if first is None and "submission" in screen and first_id[:20] in screen:
                first = (now, cpu_seconds(pid), screen)
            if first is not None and f"{n}/{n} shown" in screen and "loading" not in screen:
                return Run(first[0], first[1], now, first[2])
            time.sleep(0.02)  # ±10 ms resolution; faster polling would steal CPU from the app
    finally:
        tmux(socket, "kill-server", check=False)
    sys.exit(f"the review UI did not show every row within {timeout:.0f} s; last screen:\n{screen}")


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        textual = version("textual")
    except Exception:
        textual = "?"
    load = (
        ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        if hasattr(os, "getloadavg")
        else ""
    )
    return f"{cpu or 'unknown CPU'}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}, textual {textual}{load}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--results",
        type=Path,
        help="a results folder to copy results from (default: grade the softmax samples)",
    )
    ap.add_argument(
        "--n", type=int, default=2000, help="results in the synthetic class (default 2000)"
    )
    ap.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    ap.add_argument("--size", default="80x24", help="terminal size (default 80x24)")
    ap.add_argument("--show", action="store_true", help="print the first screen as captured")
    ap.add_argument(
        "--command",
        help="the command to time, OUT appended (default: gradgrader review, else python -m gradgrader.tui)",
    )
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed to drive the UI in a real terminal")
    size = tuple(int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="gradgrader-bench-") as tmp:
        src = args.results or grade_samples(Path(tmp))
        out = Path(tmp) / "class"
        ids = synthesise(src, out, args.n)
        size_mb = (out / "results.jsonl").stat().st_size / 1e6
        cmd = [*shlex.split(args.command), str(out)] if args.command else review_command(out)
        # a fresh tmux server per run: a previous one may still be shutting down
        runs = [
            one_run(Path(tmp) / f"tmux-{k}", cmd, ids[0], args.n, size)  # type: ignore[arg-type]
            for k in range(args.runs)
        ]

    def spread(values: list[float]) -> str:
        return f"median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f})"

    print(f"machine: {machine()}")
    print(
        f"class: {args.n} results ({size_mb:.1f} MB results.jsonl), terminal {args.size}, "
        f"{args.runs} runs, command: {' '.join(Path(c).name for c in cmd[:-1])} OUT"
    )
    print(f"first screen, wall:        {spread([r.first for r in runs])}")
    print(
        f"first screen, app CPU:     {spread([r.first_cpu for r in runs])}  (≈ wall on an idle machine)"
    )
    print(f"all rows loaded, wall:     {spread([r.full for r in runs])}")
    screen = runs[-1].screen
    if args.show:
        print(screen)


if __name__ == "__main__":
    main()
