"""A batch killed with SIGKILL or interrupted with Ctrl-C loses nothing and resumes cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORRECT = (ROOT / "assignments" / "softmax" / "samples" / "correct-vectorized" / "softmax.py").read_text()


def make_class(folder: Path, n: int = 6, slow: int = 2) -> list[str]:
    ids = []
    for i in range(n):
        sid = f"s{i}"
        (folder / sid).mkdir(parents=True)
        # One student's import never ends (until its time limit, far beyond the test): the
        # batch is mid-run whenever the test strikes, on a machine of any speed. The test
        # makes it an ordinary student (unhang) before resuming.
        pause = "import time\ntime.sleep(10 ** 6)\n" if i == slow else ""
        (folder / sid / "softmax.py").write_text(f"# student {i}\n{pause}{CORRECT}")
        ids.append(sid)
    return ids


def unhang(folder: Path, slow: int = 2) -> None:
    (folder / f"s{slow}" / "softmax.py").write_text(f"# student {slow}\n{CORRECT}")


def grade_cmd(folder: Path, out: Path, *extra: str, jobs: str = "1") -> list[str]:
    return [sys.executable, "-m", "gradgrader", "grade", str(folder), "--assignment", "softmax",
            "--out", str(out), "--jobs", jobs, "--quiet", "--allow-weak-sandbox", *extra]


def wait_for_lines(path: Path, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {n} lines")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"


def result_lines(out: Path) -> list[dict]:
    raw = (out / "results.jsonl").read_bytes()
    assert raw.endswith(b"\n"), "the results file ends in a torn line"
    return [json.loads(line) for line in raw.splitlines()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_mid_batch_then_resume_gives_one_result_per_submission(tmp_path: Path) -> None:
    ids = make_class(tmp_path / "class")
    out = tmp_path / "out"
    proc = subprocess.Popen(grade_cmd(tmp_path / "class", out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_lines(out / "results.jsonl", 2)
        sandbox = children_of(proc.pid)
        assert sandbox, "the grader should have started its sandbox"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The sandbox dies with the grader: nothing it started outlives it.
    deadline = time.monotonic() + 10
    while any(alive(p) for p in sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in sandbox)
    before = result_lines(out)
    assert 2 <= len(before) < len(ids)

    unhang(tmp_path / "class")
    done = subprocess.run(grade_cmd(tmp_path / "class", out, "--resume"), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = result_lines(out)
    assert sorted(r["submission"] for r in lines) == ids  # exactly one line each
    assert all(r["score"] == r["max_score"] for r in lines)
    assert lines[: len(before)] == before  # nothing graded before was touched
    grades = (out / "grades.csv").read_text().splitlines()
    assert len(grades) == len(ids) + 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path, jobs: str) -> None:
    ids = make_class(tmp_path / "class", n=8)
    out = tmp_path / "out"
    proc = subprocess.Popen(grade_cmd(tmp_path / "class", out, jobs=jobs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_lines(out / "results.jsonl", 2)
    proc.send_signal(signal.SIGINT)  # s2 never finishes: the batch is mid-run, however fast the machine
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "--resume" in err and "Traceback" not in err
    partial = result_lines(out)
    assert 2 <= len(partial) < len(ids)
    assert (out / "grades.csv").read_text().count("\n") == len(partial) + 1

    unhang(tmp_path / "class")
    done = subprocess.run(grade_cmd(tmp_path / "class", out, "--resume"), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert sorted(r["submission"] for r in result_lines(out)) == ids
