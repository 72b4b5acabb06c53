"""Grading on a Dask cluster (issue 10): same results as local grading, one result per
submission even when a worker dies mid-run, and a clear message without Dask."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gradgrader.assignment import load_assignment
from gradgrader.errors import GradgraderError
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.results import Result, ResultsWriter, dumps
from gradgrader.rubric import resolve_rubric

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assignments" / "softmax" / "samples"
CORRECT = (SAMPLES / "correct-vectorized" / "softmax.py").read_text(encoding="utf-8")
# Quick samples only (no loop-based ones): correct and wrong, folders and a lone file,
# a syntax error and a crash on import.
PICKED = ["correct-vectorized", "sign-flipped", "syntax-error", "import-crash", "lists-instead-of-arrays.py"]


def need_dask() -> Any:
    pytest.importorskip("dask")
    return pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def softmax_course():
    spec = load_assignment("softmax")
    return spec, resolve_rubric(spec)


def make_class(folder: Path) -> Path:
    """Copies of a few samples, a student whose code is in a helper module of their folder
    (with a data file the module reads), and a folder without the file to grade."""
    folder.mkdir(parents=True)
    for name in PICKED:
        src = SAMPLES / name
        if src.is_dir():
            shutil.copytree(src, folder / name)
        else:
            shutil.copyfile(src, folder / name)
    helper = folder / "uses-a-helper"
    (helper / "lib").mkdir(parents=True)
    (helper / "lib" / "__init__.py").write_text("")
    (helper / "lib" / "mine.py").write_text(CORRECT, encoding="utf-8")
    (helper / "scale.txt").write_text("1.0\n")
    (helper / "softmax.py").write_text(
        "from pathlib import Path\n"
        "SCALE = float(Path(__file__).with_name('scale.txt').read_text())\n"
        "from lib.mine import *\n",
        encoding="utf-8",
    )
    (folder / "forgot-the-file").mkdir()
    (folder / "forgot-the-file" / "notes.txt").write_text("oops")
    # A notebook: graded through its generated module; its messages name cells.
    half = CORRECT.index("\ndef softmax_jacobian")
    cells = [CORRECT[:half], CORRECT[half:].replace("def softmax_jacobian(z):", "def softmax_jacobian(z)", 1)]
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src}
                    for src in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "notebook-typo.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return folder


STAGED = re.compile(r"/[^\s\"']*/stage/s\d+/(?:work/)?")


def comparable(result: Result | dict[str, Any]) -> dict[str, Any]:
    """A result's JSON without timings; the sandbox's staging folder (which differs from
    one run to the next, locally too) replaced by a placeholder."""
    text = dumps(result) if isinstance(result, Result) else json.dumps(result)
    obj = json.loads(STAGED.sub("<staged>/", text))
    obj.pop("elapsed_s", None)
    return obj


def test_parse_cluster() -> None:
    from gradgrader.distributed import parse_cluster

    assert parse_cluster("local") == ("local", None)
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("local[2]") == ("local", 2)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "", "missing-scheduler.json"):
        with pytest.raises(GradgraderError):
            parse_cluster(bad)


def test_without_dask_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, softmax_course) -> None:
    from gradgrader.distributed import ClusterGrader, grade_on_cluster

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    spec, rubric = softmax_course
    with pytest.raises(GradgraderError, match=r"pip install 'gradgrader\[dask\]'"):
        ClusterGrader("local:2", spec, rubric).connect()
    with pytest.raises(GradgraderError, match=r"gradgrader\[dask\]"):
        next(grade_on_cluster("tcp://127.0.0.1:1", spec, rubric, []))


def test_packing_round_trip(tmp_path: Path, softmax_course) -> None:
    from gradgrader.distributed import pack_assignment, pack_submission, result_from_json

    spec, rubric = softmax_course
    payload = pack_assignment(spec, rubric)
    assert {"assignment.toml", "reference.py", "hooks.py", "feedback.toml"} <= set(payload["files"])
    assert not any(rel.startswith("samples/") for rel in payload["files"])
    subs = {s.id: s for s in discover(make_class(tmp_path / "class"), spec.filename, cache=tmp_path / "cache")}
    helper = pack_submission(subs["uses-a-helper"])
    assert helper["name"] == "softmax.py" and set(helper["files"]) == {"lib/__init__.py", "lib/mine.py", "scale.txt"}
    assert helper["sha256"] == subs["uses-a-helper"].digest()
    lone = pack_submission(subs["lists-instead-of-arrays"])
    assert lone["files"] is None and lone["name"] == "lists-instead-of-arrays.py"
    missing = pack_submission(subs["forgot-the-file"])
    assert missing["data"] is None and missing["problem"]
    with Grader(spec, rubric) as grader:
        result = grader.grade(subs["sign-flipped"])
    assert dumps(result_from_json(result.to_json())) == dumps(result)


def test_cluster_grades_exactly_like_local(tmp_path: Path, softmax_course) -> None:
    need_dask()
    from gradgrader.distributed import grade_on_cluster

    spec, rubric = softmax_course
    subs = discover(make_class(tmp_path / "class"), spec.filename, cache=tmp_path / "cache")
    with Grader(spec, rubric, jobs=2) as grader:
        local = {r.submission: comparable(r) for r in grader.grade_all(subs)}
    written: list[Result] = []
    messages: list[str] = []
    remote = {
        r.submission: comparable(r)
        for r in grade_on_cluster("local:2", spec, rubric, subs, allow_weak=True, chunk_size=2, on_result=written.append, log=messages.append)
    }
    assert len(written) == len(subs)
    assert sorted(remote) == sorted(local) == sorted(s.id for s in subs)
    for sid in local:
        assert remote[sid] == local[sid], sid
    # The cases are what they look like: the helper-module student got full marks, the
    # original paths and hashes are kept, and the run said where it graded.
    assert remote["uses-a-helper"]["score"] == remote["uses-a-helper"]["max_score"]
    assert remote["sign-flipped"]["path"] == str(tmp_path / "class" / "sign-flipped" / "softmax.py")
    assert remote["forgot-the-file"]["status"] == "error"
    assert "cell 2" in remote["notebook-typo"]["message"], remote["notebook-typo"]["message"]
    assert any("2 worker(s)" in m and "sandbox" in m for m in messages)


def test_a_worker_killed_mid_run_loses_nothing_and_grades_nothing_twice(tmp_path: Path, softmax_course) -> None:
    distributed = need_dask()
    from gradgrader.distributed import grade_on_cluster

    spec, rubric = softmax_course
    folder = tmp_path / "class"
    ids = []
    for i in range(6):
        # The first student takes a few seconds to import: its worker is busy with it
        # when the first result (another worker's) comes back, and is killed then.
        pause = "import time\ntime.sleep(3)\n" if i == 0 else ""
        (folder / f"s{i}").mkdir(parents=True)
        (folder / f"s{i}" / "softmax.py").write_text(f"# student {i}\n{pause}{CORRECT}", encoding="utf-8")
        ids.append(f"s{i}")
    subs = discover(folder, spec.filename)
    out = tmp_path / "out"
    writer = ResultsWriter(out, fresh=True)

    def executing(dask_worker: Any) -> list[str]:
        return sorted(str(ts.key) for ts in dask_worker.state.executing)

    def crash_soon() -> None:  # the worker process dies as on a node failure: no goodbye
        import threading

        threading.Timer(0.05, os._exit, args=(1,)).start()

    killed: list[str] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        for _ in grade_on_cluster(client, spec, rubric, subs, allow_weak=True, chunk_size=1, on_result=writer.write):
            if not killed:
                busy = {addr: keys for addr, keys in client.run(executing).items() if keys}
                assert busy, "some worker should still be grading when the first result arrives"
                victim = min(busy, key=lambda addr: busy[addr][0])  # the one on the earliest chunk (the slow one)
                client.run(crash_soon, workers=[victim])
                killed.append(victim)
    writer.close()
    assert killed
    lines = [json.loads(line) for line in (out / "results.jsonl").read_bytes().splitlines()]
    counts = Counter(obj["submission"] for obj in lines)
    assert counts == Counter(ids), counts  # every submission exactly once
    assert all(obj["status"] == "graded" and obj["score"] == obj["max_score"] for obj in lines)


def test_cli_grade_on_a_local_cluster(tmp_path: Path) -> None:
    need_dask()
    cmd = [sys.executable, "-m", "gradgrader"]
    help_text = subprocess.run([*cmd, "grade", "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}).stdout
    if "--cluster" not in help_text:
        pytest.skip("this gradgrader's grade command has no --cluster option yet")
    folder = tmp_path / "class"
    for name in ("sign-flipped", "syntax-error"):
        shutil.copytree(SAMPLES / name, folder / name)
    out = tmp_path / "out"
    proc = subprocess.run([*cmd, "grade", str(folder), "--assignment", "softmax", "--out", str(out),
                           "--cluster", "local:1", "--quiet", "--skip-validation", "--allow-weak-sandbox"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "grading on a local Dask cluster of 1 worker process(es)" in " ".join(proc.stderr.split())
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(obj["submission"] for obj in lines) == ["sign-flipped", "syntax-error"]
    assert "submission,score,max_score,status" in (out / "grades.csv").read_text()
    # --resume keeps them all: nothing is sent to the cluster again.
    again = subprocess.run([*cmd, "grade", str(folder), "--assignment", "softmax", "--out", str(out),
                            "--cluster", "local:1", "--resume", "--quiet", "--skip-validation", "--allow-weak-sandbox"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "2 unchanged kept" in again.stderr and "Dask cluster of" not in again.stderr
    assert len((out / "results.jsonl").read_text().splitlines()) == 2


def test_duplicates_and_strays_are_dropped_and_lost_chunks_reported(monkeypatch: pytest.MonkeyPatch, softmax_course) -> None:
    """The client's side of the protocol, with a fake task on an in-process cluster: a
    chunk reported twice (a retry racing a lost worker) or carrying an id it was not
    sent is written once or not at all; a chunk that keeps failing is re-sent one
    submission at a time, and the one that still fails is named at the end, after every
    other result."""
    distributed = need_dask()
    import gradgrader.distributed as gd
    from gradgrader.ingest import Submission

    spec, rubric = softmax_course

    def fake(payload: dict, chunk: list[dict], version: str, allow_weak: bool) -> dict:
        if any(item["id"] == "doomed" for item in chunk):
            raise RuntimeError("node on fire")
        one = [{"submission": item["id"], "path": item["path"], "assignment": "softmax", "status": "error",
                "score": 0.0, "max_score": 10.0, "checks": [], "mistakes": [], "elapsed_s": 0.0} for item in chunk]
        stray = dict(one[0], submission="not-sent")
        return {"results": one + one + [stray], "worker": "fake"}

    import gradgrader.distributed.client

    monkeypatch.setattr(gradgrader.distributed.client, "grade_chunk", fake)  # what the client sends
    subs = [Submission(f"s{i}", None, None, "no file") for i in range(5)] + [Submission("doomed", None, None, "no file")]
    got: list[str] = []
    lost = r"1 submission\(s\) could not be graded on the cluster \(doomed\): RuntimeError: node on fire.*--resume"
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client, \
            pytest.raises(gd.ClusterError, match=lost):
        for result in gd.grade_on_cluster(client, spec, rubric, subs, allow_weak=True, chunk_size=2, retries=0):
            got.append(result.submission)
    assert sorted(got) == ["s0", "s1", "s2", "s3", "s4"]  # s4 shared the doomed chunk, then went alone


def test_student_code_on_a_worker_sees_no_worker_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, softmax_course) -> None:
    """Under namespaces alone (no Landlock, as on older HPC kernels), a submission graded
    on a worker cannot see any worker's private folder: not its own worker's (the
    assignment copy with reference.py, the other submissions of its chunk), nor one a
    dead worker left behind, nor Dask's working folders."""
    need_dask()
    from gradgrader.distributed import grade_on_cluster
    from gradgrader.sandbox.layers import probe

    if not probe().has("namespaces"):
        pytest.skip("needs bubblewrap namespaces")
    tmp = tmp_path / "tmp"
    parent = tmp / f"gradgrader-dask-{os.getuid()}"
    (parent / "w1-left-behind").mkdir(parents=True)  # pid 1 never dies: the sweep keeps it
    (parent / "w1-left-behind" / "reference.py").write_text("SECRET = 42\n")
    monkeypatch.setenv("TMPDIR", str(tmp))  # the workers' temporary files go there
    monkeypatch.setenv("GRADGRADER_DISABLE", "landlock")
    snoop = f"""
import glob, os
seen = []
for pattern in [{str(parent)!r} + "/*", {str(parent)!r} + "/*/*", {str(parent)!r} + "/*/*/*/*/*", {str(tmp)!r} + "/dask-scratch-space/*"]:
    seen += glob.glob(pattern)
try:
    seen.append(open({str(parent / "w1-left-behind" / "reference.py")!r}).read())
except OSError:
    pass
print("SEEN", len(seen), seen[:5])
"""
    folder = tmp_path / "class"
    write = {"snoop": snoop + CORRECT, "other": CORRECT}
    for sid, source in write.items():
        (folder / sid).mkdir(parents=True)
        (folder / sid / "softmax.py").write_text(source, encoding="utf-8")
    spec, rubric = softmax_course
    subs = discover(folder, spec.filename)
    results = {r.submission: r for r in grade_on_cluster("local:1", spec, rubric, subs, allow_weak=True, chunk_size=2)}
    assert results["snoop"].status == "graded"
    assert "SEEN 0 []" in results["snoop"].output, results["snoop"].output
    assert (parent / "w1-left-behind" / "reference.py").exists()  # only dead workers' folders are swept


def test_a_worker_with_a_weak_sandbox_refuses_unless_allowed(monkeypatch) -> None:
    """The worker asks the one sandbox policy (sandbox.layers.weak_refused) before it
    unpacks anything: a weak worker refuses other people's code."""
    import gradgrader.distributed.worker as distributed
    from gradgrader.errors import SandboxError
    from gradgrader.sandbox import layers

    weak = layers.Isolation((layers.Layer("process", True, ""), layers.Layer("rlimits", True, "")))
    monkeypatch.setattr(distributed, "_probe", lambda: weak)
    with pytest.raises(SandboxError, match="worker .*--allow-weak-sandbox"):
        distributed._grader_for({"digest": "0" * 64, "name": "softmax", "files": {}}, allow_weak=False)
