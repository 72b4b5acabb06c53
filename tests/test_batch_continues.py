"""The batch always finishes (issue 16): whatever goes wrong while discovering, staging,
grading or recording ONE submission becomes that submission's error result with the
reason, and every other student gets exactly the result they get alone — with one job,
with forked workers (``--jobs 2``) and on a Dask cluster (``--cluster local:2``). A
failure while writing the exports is reported, and every result is kept.

The faults are injected with ``monkeypatch`` before any worker exists: forked workers
inherit the patched modules, and the Dask cluster is a ``LocalCluster`` whose workers
run in this process (``processes=False``), so they see the patches too. The victim is
recognised by a marker in its file (a Dask worker sees only the file's contents, never
the student's folder name)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gradgrader.cli import app
from gradgrader.results import CheckRecord, Result, ResultsWriter, read_results

ROOT = Path(__file__).resolve().parents[1]
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


def make_class(folder: Path) -> Path:
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
    return make_class(tmp_path_factory.mktemp("batch") / "class")


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


def test_the_results_writer_never_stops_for_one_students_text(tmp_path: Path) -> None:
    """A lone surrogate (an exception message a child made up), bytes that are not UTF-8
    (a name decoded with surrogateescape) and an extra field JSON cannot hold: every
    line is written, the text made valid UTF-8 (U+FFFD), the unwritable one as an error."""

    def result(sid: str, message: str, extra: dict[str, Any] | None = None) -> Result:
        check = CheckRecord("f.value", "f", False, 0.0, 1.0, message)
        return Result(sid, f"class/{sid}", "gmm", "graded", 0.0, 1.0, (check,), (), 0.1, message=message,
                      output=message, extra=extra or {})

    writer = ResultsWriter(tmp_path, fresh=True)
    writer.write(result("lone", "boom \ud800 here"))
    writer.write(result("bytes-\udcff", "name \udcfe"))
    writer.write(result("pair", "emoji \ud83d\ude00"))  # a pair split in two code points: joined
    writer.write(result("unwritable", "fine", {"blob": b"\xff"}))
    writer.write(result("after", "fine"))
    writer.close()
    raw = (tmp_path / "results.jsonl").read_bytes()
    raw.decode("utf-8")  # strictly valid UTF-8
    got = {r["submission"]: r for r in read_results(tmp_path, everyone=True)}
    assert list(got) == ["lone", "bytes-\ufffd", "pair", "unwritable", "after"]
    assert got["lone"]["message"] == "boom \ufffd here" and got["lone"]["checks"][0]["message"] == "boom \ufffd here"
    assert got["bytes-\ufffd"]["output"] == "name \ufffd"
    assert got["pair"]["message"] == "emoji \U0001F600"
    assert got["unwritable"]["status"] == "error" and got["unwritable"]["grader_failure"]["stage"] == "recording"
    assert got["after"]["status"] == "graded"
