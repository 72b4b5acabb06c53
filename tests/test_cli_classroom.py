"""gradgrader/cli/classroom.py: the `grade` command. A batch killed with SIGKILL or
interrupted with Ctrl-C loses nothing and resumes cleanly; one submission failing at any
stage costs no one else their grade; the messages it prints for the TA."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CORRECT, ROOT, SOFTMAX, SOFTMAX_SAMPLES, runner
from typer.testing import CliRunner

from gradgrader.cli import app


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


def broken_hook_assignment(tmp_path: Path) -> Path:
    copy = tmp_path / "softmax-copy"
    shutil.copytree(SOFTMAX, copy, ignore=shutil.ignore_patterns("samples"))
    shutil.copy(ROOT / "rubrics" / "softmax.toml", copy / "rubric.toml")
    hooks = copy / "hooks.py"
    hooks.write_text(hooks.read_text().replace(
        '    """Gradient descent with the student\'s softmax_loss lowers the loss and learns."""',
        '    """Gradient descent with the student\'s softmax_loss lowers the loss and learns."""\n'
        '    raise RuntimeError("the course broke this hook")',
    ))
    return copy


def test_a_failing_course_hook_is_flagged_for_the_ta_and_loses_no_result(tmp_path: Path) -> None:
    copy = broken_hook_assignment(tmp_path)
    cls = tmp_path / "class" / "alice"
    cls.mkdir(parents=True)
    (cls / "softmax.py").write_text(CORRECT)
    out = tmp_path / "out"
    # The reference fails the broken check too: --skip-validation lets the run go ahead.
    refused = runner.invoke(app, ["grade", str(tmp_path / "class"), "-a", str(copy), "-o", str(out), "--allow-weak-sandbox"])
    assert refused.exit_code == 2 and "fails its own validation" in refused.stderr
    result = runner.invoke(app, ["grade", str(tmp_path / "class"), "-a", str(copy), "-o", str(out), "--skip-validation", "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.stderr
    assert "hit a problem in the assignment itself" in result.stderr and "alice" in result.stderr
    import json

    line = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert line["grader_errors"] == ["softmax_loss.training"]
    training = next(c for c in line["checks"] if c["id"] == "softmax_loss.training")
    assert training["mistakes"] == ["grader-error"] and "not in your code" in training["message"]
    assert sum(c["passed"] for c in line["checks"]) == len(line["checks"]) - 1


def test_a_canvas_gradebook_without_canvas_ids_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "class" / "alice").mkdir(parents=True)
    shutil.copyfile(SOFTMAX_SAMPLES / "correct-vectorized" / "softmax.py", tmp_path / "class" / "alice" / "softmax.py")
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(tmp_path / "out"),
                                      "--gradebook", "canvas", "--skip-validation", "--allow-weak-sandbox"])
    assert result.exit_code == 0 and "Canvas cannot match the rows" in result.stderr
