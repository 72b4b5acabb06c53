"""gradgrader/cli/classroom.py: the `grade` command. A batch killed with SIGKILL or
interrupted with Ctrl-C loses nothing and resumes cleanly; one submission failing at any
stage costs no one else their grade; the messages it prints for the TA."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CORRECT, ROOT, SOFTMAX, SOFTMAX_SAMPLES, runner
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.results import Result, read_results


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


# --- the batch always finishes -------------------------------------------------------------------
# The batch always finishes (issue 16): whatever goes wrong while discovering, staging,
# grading or recording ONE submission becomes that submission's error result with the
# reason, and every other student gets exactly the result they get alone — with one job,
# with forked workers (``--jobs 2``) and on a Dask cluster (``--cluster local:2``). A
# failure while writing the exports is reported, and every result is kept.
#
# The faults are injected with ``monkeypatch`` before any worker exists: forked workers
# inherit the patched modules, and the Dask cluster is a ``LocalCluster`` whose workers
# run in this process (``processes=False``), so they see the patches too. The victim is
# recognised by a marker in its file (a Dask worker sees only the file's contents, never
# the student's folder name).

GMM = ROOT / "assignments" / "gmm" / "samples"  # the cheapest shipped assignment to grade


CLASS = {"alice": "correct-vectorized", "bob": "sign-flipped", "carol": "missing-half"}


VICTIM = "bob"


MARKER = "# injected-fault-victim"


MODES = {"jobs1": ["--jobs", "1"], "jobs2": ["--jobs", "2"], "cluster": ["--cluster", "local:2", "--chunk-size", "1"]}


WHY = {"discover": "discover went wrong", "stage": "staging went wrong", "grade": "grading went wrong",
       "record": "recording went wrong", "export": "exporting went wrong"}


STAGES = list(WHY)


STAGED = re.compile(r"/[^\s\"']*/stage/s\d+/(?:work/)?")  # the sandbox's staging folder in messages


class Injected(RuntimeError):
    """The unexpected exception a test injects (never raised by gradgrader itself)."""


def make_gmm_class(folder: Path) -> Path:
    for sid, sample in CLASS.items():
        shutil.copytree(GMM / sample, folder / sid)
    victim = folder / VICTIM / "gmm.py"
    victim.write_text(victim.read_text(encoding="utf-8") + f"\n{MARKER}\n", encoding="utf-8")
    return folder


def is_victim(path: Any) -> bool:
    try:
        return MARKER in Path(path).read_text(encoding="utf-8")
    except (OSError, TypeError, ValueError):
        return False


def grade(folder: Path, out: Path, mode: str) -> Any:
    return CliRunner().invoke(
        app,
        ["grade", str(folder), "-a", "gmm", "-o", str(out), "--skip-validation", "--allow-weak-sandbox", *MODES[mode]],
    )


def comparable(r: dict[str, Any]) -> dict[str, Any]:
    r = {k: v for k, v in r.items() if k != "elapsed_s"}
    return json.loads(STAGED.sub("<staged>/", json.dumps(r, ensure_ascii=False)))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_gmm_class(tmp_path_factory.mktemp("batch") / "class")


@pytest.fixture(scope="module")
def alone(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every student's result when nothing goes wrong: each graded on their own."""
    results: dict[str, dict[str, Any]] = {}
    for sid in CLASS:
        single = tmp_path_factory.mktemp(f"alone-{sid}")
        shutil.copytree(folder / sid, single / "class" / sid)
        out = single / "out"
        assert grade(single / "class", out, "jobs1").exit_code == 0
        [r] = read_results(out)
        r["path"] = str(folder / sid / "gmm.py")  # the same file, in the class folder
        results[sid] = comparable(r)
    return results


def inject(stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``stage`` raise :class:`Injected` for the victim only."""
    if stage == "discover":
        import gradgrader.ingest.folders as folders

        pick = folders.pick_file

        def pick_file(folder: Path, filename: str) -> Any:
            if folder.name == VICTIM:
                raise Injected(WHY["discover"])
            return pick(folder, filename)

        monkeypatch.setattr(folders, "pick_file", pick_file)
    elif stage == "stage":
        from gradgrader.sandbox.runner import Sandbox

        stage_copy = Sandbox._stage_copy

        def _stage_copy(self: Sandbox, path: Path, folder: Path | None) -> Any:
            if is_victim(path):
                raise Injected(WHY["stage"])
            return stage_copy(self, path, folder)

        monkeypatch.setattr(Sandbox, "_stage_copy", _stage_copy)
    elif stage == "grade":
        import gradgrader.grading as grading

        prefetch = grading._prefetch

        def _prefetch(ctx: Any, rubric: Any) -> None:
            if is_victim(ctx.session.path):
                raise Injected(WHY["grade"])
            prefetch(ctx, rubric)

        monkeypatch.setattr(grading, "_prefetch", _prefetch)
    elif stage == "record":
        import gradgrader.results as results

        dumps = results.dumps

        def failing_dumps(result: Result) -> str:
            if result.submission == VICTIM:
                raise Injected(WHY["record"])
            return dumps(result)

        monkeypatch.setattr(results, "dumps", failing_dumps)
    else:
        import gradgrader.export.feedback as feedback

        markdown = feedback.feedback_markdown

        def feedback_markdown(r: Any, title: str = "") -> str:
            if r.submission == VICTIM:  # write_feedback hands on typed Results
                raise Injected(WHY["export"])
            return markdown(r, title)

        monkeypatch.setattr(feedback, "feedback_markdown", feedback_markdown)


@pytest.fixture
def in_process_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--cluster local:N`` with workers in this process, so they see the patches."""
    distributed = pytest.importorskip("distributed")
    local = distributed.LocalCluster

    def in_process(*args: Any, **kwargs: Any) -> Any:
        kwargs["processes"] = False
        return local(*args, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", in_process)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("stage", STAGES)
def test_one_submission_failing_at_any_stage_costs_no_one_else_their_grade(
    stage: str, mode: str, folder: Path, alone: dict[str, dict[str, Any]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    if mode == "cluster":
        request.getfixturevalue("in_process_dask")
    inject(stage, monkeypatch)
    out = tmp_path / "out"
    result = grade(folder, out, mode)
    got = {r["submission"]: r for r in read_results(out)}
    assert sorted(got) == sorted(CLASS), result.output
    for sid in CLASS:
        if sid != VICTIM or stage == "export":
            assert comparable(got[sid]) == alone[sid], (stage, mode, sid)
    if stage == "export":
        # The exports failed: said in one line (exit 2, no traceback); the grades are kept.
        assert result.exit_code == 2, result.output
        assert "cannot write the gradebook or feedback" in result.stderr and "Traceback" not in result.output
        assert f"Injected: {WHY['export']}" in result.stderr
        assert (out / "grades.csv").read_text(encoding="utf-8").count("\n") == 1 + len(CLASS)
        return
    assert result.exit_code == 0, result.output
    victim = got[VICTIM]
    assert victim["status"] == "error" and victim["score"] == 0
    assert f"Injected: {WHY[stage]}" in victim["message"], victim["message"]
    if stage != "discover":  # discovery's problem is the student's folder; the others are the grader's
        assert victim["grader_failure"]["error"].startswith("Injected:")
        assert "--resume" in result.stderr and VICTIM in result.stderr
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    assert f"{VICTIM},0,10,error" in grades


def test_a_grader_failure_is_graded_again_by_resume(folder: Path, alone: dict[str, dict[str, Any]], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        inject("grade", patch)
        assert grade(folder, out, "jobs1").exit_code == 0
    assert read_results(out)[1]["grader_failure"]
    resumed = CliRunner().invoke(app, ["grade", str(folder), "-a", "gmm", "-o", str(out), "--resume",
                                       "--skip-validation", "--allow-weak-sandbox"])
    assert resumed.exit_code == 0 and "grading 1 submission(s)" in resumed.stderr
    assert {r["submission"]: comparable(r) for r in read_results(out)} == alone


def test_a_worker_process_that_dies_costs_only_its_own_submission(
    folder: Path, alone: dict[str, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --jobs 2 a worker killed while grading the victim breaks the whole pool; the
    submissions in flight are graded again one at a time, so only the victim's is lost."""
    import gradgrader.grading as grading

    parent = os.getpid()
    real = grading.grade_submission

    def dies_in_a_worker(course: Any, rubric: Any, submission: Any, sandbox: Any) -> Any:
        if os.getpid() != parent and is_victim(submission.path):
            os._exit(3)
        return real(course, rubric, submission, sandbox)

    monkeypatch.setattr(grading, "grade_submission", dies_in_a_worker)
    out = tmp_path / "out"
    result = grade(folder, out, "jobs2")
    assert result.exit_code == 0, result.output
    got = {r["submission"]: r for r in read_results(out)}
    assert {sid: comparable(r) for sid, r in got.items() if sid != VICTIM} == {s: alone[s] for s in CLASS if s != VICTIM}
    assert got[VICTIM]["status"] == "error" and "worker process" in got[VICTIM]["message"]


def test_grade_with_out_inside_the_class_folder_then_resume(tmp_path, monkeypatch):
    """``gradgrader grade . -a softmax -o out``, then the same with ``--resume``: OUT is
    never graded as a student, nor anything gradgrader wrote (#19)."""
    from conftest import sample_path
    from typer.testing import CliRunner

    from gradgrader.cli import app
    from gradgrader.results import read_results

    cls = tmp_path / "class"
    (cls / "alice").mkdir(parents=True)
    (cls / "alice" / "softmax.py").write_bytes((sample_path("correct-vectorized") / "softmax.py").read_bytes())
    monkeypatch.chdir(cls)
    args = ["grade", ".", "-a", "softmax", "-o", "out", "--skip-validation", "--allow-weak-sandbox"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert [r["submission"] for r in read_results(cls / "out", everyone=True)] == ["alice"]


def test_grade_reads_the_results_back_once_for_grades_csv_and_the_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reading every result of results.jsonl back took ~0.3 s per 1,000 submissions, and
    # grade did it twice after the last one (#17); now a fresh results.jsonl is not read
    # back at all (its writer kept its lines), and a --resume reads it once.
    import gradgrader.overrides as overrides
    import gradgrader.run as run

    reads: list[str] = []
    for module in (run, overrides):
        real = module.read_results
        monkeypatch.setattr(module, "read_results", lambda out, everyone=False, real=real: reads.append("read") or real(out, everyone))
    make_class(tmp_path / "class", n=3, slow=-1)  # no one hangs
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(tmp_path / "out"),
                                      "--jobs", "1", "--skip-validation"])
    assert result.exit_code == 0, result.output
    assert len(reads) == 0
    grades = (tmp_path / "out" / "grades.csv").read_text()
    assert all(f"s{i}" in grades for i in range(3))
    (tmp_path / "class" / "s1" / "softmax.py").write_text((tmp_path / "class" / "s1" / "softmax.py").read_text() + "\n# changed\n")
    again = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(tmp_path / "out"),
                                     "--jobs", "1", "--skip-validation", "--resume"])
    assert again.exit_code == 0, again.output
    assert len(reads) == 2  # the plan's, and the results as the file holds them after
    assert (tmp_path / "out" / "grades.csv").read_text() == grades


def test_the_cyclic_collector_is_off_while_workers_grade_and_on_again_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent keeps every result; its collector's full passes over them cost ~0.15 s
    # per 1,000 submissions of the workers' CPU (#17): off while workers grade, restored
    # after; on when it grades the submissions itself.
    import gc

    from gradgrader.results import ResultsWriter

    seen: list[bool] = []
    real = ResultsWriter.write
    monkeypatch.setattr(ResultsWriter, "write", lambda self, result: (seen.append(gc.isenabled()), real(self, result))[1])
    make_class(tmp_path / "class", n=2, slow=-1)  # no one hangs
    assert gc.isenabled()
    for jobs, on in (("2", False), ("1", True)):  # with one job this process grades: it keeps collecting
        seen.clear()
        result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(tmp_path / f"out{jobs}"),
                                          "--jobs", jobs, "--skip-validation"])
        assert result.exit_code == 0, result.output
        assert seen == [on, on] and gc.isenabled()


def test_a_disk_that_fails_the_last_sync_stops_with_a_message_and_keeps_the_results(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """results.jsonl is synced every half second and when the run ends (#17): a disk that
    fails then is said in one line (exit 2, no traceback), and every line written is kept."""
    import gradgrader.results as results

    def failing(self: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(results, "SYNC_EVERY", 3600.0)  # only the last sync, at the end
    monkeypatch.setattr(results.ResultsWriter, "sync", failing)
    out = tmp_path / "out"
    result = grade(folder, out, "jobs1")
    assert result.exit_code == 2, result.output
    assert "cannot write results there" in result.stderr and "--resume" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(r["submission"] for r in read_results(out)) == sorted(CLASS)


def test_grade_starts_the_validations_sandbox_before_opening_the_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(#17) The validation's zygote comes up while the class is opened: it is started
    first and the validation adopts it (two zygotes in all with --jobs 1, as before: the
    validation's and the grader's); a class folder that cannot be opened closes it."""
    import gradgrader.ingest as ingest
    from gradgrader.sandbox import zygote as zygote_module
    from gradgrader.sandbox.prestart import Prestarted

    events: list[str] = []
    real_init, real_open, real_close = zygote_module.Zygote.__init__, ingest.open_class, Prestarted.close

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        events.append("zygote")
        real_init(self, *args, **kwargs)

    def open_class(*args: Any, **kwargs: Any) -> Any:
        events.append("open")
        return real_open(*args, **kwargs)

    def close(self: Any) -> None:
        events.append("closed")
        real_close(self)

    monkeypatch.setattr(zygote_module.Zygote, "__init__", init)
    monkeypatch.setattr(ingest, "open_class", open_class)
    monkeypatch.setattr(Prestarted, "close", close)
    # As on a machine whose probe is remembered (a first run probes instead: no early start).
    monkeypatch.setattr("gradgrader.sandbox.bwrap.probe_is_cheap", lambda: True)
    make_class(tmp_path / "class", n=2, slow=-1)
    result = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", "softmax", "-o", str(tmp_path / "out"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert events == ["zygote", "open", "zygote"], events
    events.clear()
    missing = CliRunner().invoke(app, ["grade", str(tmp_path / "nowhere"), "-a", "softmax", "-o", str(tmp_path / "out2")])
    assert missing.exit_code == 2 and "nowhere" in missing.output
    assert events == ["zygote", "open", "closed"], events
