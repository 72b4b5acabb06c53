"""The command line (docs/cli.md, docs/check.md, docs/grade.md): exit codes, --json, results.jsonl / grades.csv, --resume."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, SOFTMAX, copy_assignment, imported_after, sample_path
from typer.testing import CliRunner

from gradgrader.cli import BLAS_THREADS, app, one_blas_thread
from gradgrader.results import read_results

RESULT_KEYS = {
    "submission",
    "path",
    "assignment",
    "status",
    "score",
    "max_score",
    "checks",
    "mistakes",
    "elapsed_s",
}
CHECK_KEYS = {"id", "function", "passed", "score", "max_score", "message", "mistakes"}
# `grade` refuses a weak sandbox; these tests are about the command line, not the machine.
WEAK_OK = "--allow-weak-sandbox"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def make_class(folder: Path, samples: list[str]) -> Path:
    """A class folder holding copies of these samples (folders stay folders, files files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        src = sample_path(sample)
        if src.is_dir():
            shutil.copytree(src, folder / sample)
        else:
            shutil.copyfile(src, folder / src.name)
    return folder


def lines(out: Path) -> list[str]:
    return (out / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)


def by_submission(out: Path) -> dict[str, dict]:
    """results.jsonl's results by submission, without elapsed_s."""
    results = {}
    for r in read_results(out):
        r = dict(r)
        r.pop("elapsed_s")
        results[r["submission"]] = r
    return results


# ----------------------------------------------------------------- check


def test_check_exits_0_on_full_marks():
    result = run("check", sample_path("correct-vectorized"), "--assignment", "softmax")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("sample", ["sign-flipped", "syntax-error"])
def test_check_exits_1_without_full_marks(sample):
    result = run("check", sample_path(sample), "--assignment", "softmax")
    assert result.exit_code == 1, result.output


def test_check_feedback_names_the_mistake():
    result = run("check", sample_path("sign-flipped"), "-a", "softmax")
    assert "sign" in result.stdout and "softmax_loss.gradient" in result.stdout


def _bad_rubric(tmp_path: Path) -> Path:
    path = tmp_path / "rubric.toml"
    path.write_text('[checks."softmax.value"]\npoints = "lots"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [
        lambda tmp: ["check", sample_path("correct-vectorized"), "-a", "no-such-assignment"],
        lambda tmp: ["check", tmp / "nowhere" / "softmax.py", "-a", "softmax"],
        lambda tmp: [
            "check",
            sample_path("correct-vectorized"),
            "-a",
            "softmax",
            "--rubric",
            _bad_rubric(tmp),
        ],
        lambda tmp: [
            "check",
            sample_path("correct-vectorized"),
            "-a",
            "softmax",
            "--rubric",
            tmp / "missing.toml",
        ],
        lambda tmp: ["check", sample_path("correct-vectorized"), "-a", tmp],
        lambda tmp: ["grade", tmp / "no-class", "-a", "softmax", "--out", tmp / "out", WEAK_OK],
        lambda tmp: ["grade", SAMPLES, "-a", "no-such-assignment", "--out", tmp / "out", WEAK_OK],
    ],
    ids=[
        "unknown-assignment",
        "missing-path",
        "malformed-rubric",
        "missing-rubric",
        "not-an-assignment-folder",
        "missing-class-folder",
        "grade-unknown-assignment",
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_usage_errors_exit_2_with_one_line_and_no_traceback(tmp_path, args, as_json):
    argv = args(tmp_path) + (["--json"] if as_json and args(tmp_path)[0] == "check" else [])
    result = run(*argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    problem = [line for line in result.stderr.splitlines() if line.startswith("gradgrader:")]
    assert len(problem) == 1 and len(problem[0]) > len("gradgrader: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)  # not a crash


def test_malformed_rubric_error_names_the_file(tmp_path):
    rubric = _bad_rubric(tmp_path)
    result = run("check", sample_path("correct-vectorized"), "-a", "softmax", "--rubric", rubric)
    assert str(rubric) in result.stderr and "points" in result.stderr


@pytest.mark.parametrize(
    "sample", ["sign-flipped", "correct-vectorized", "syntax-error", "mutates-inputs"]
)
def test_check_json_prints_exactly_one_result_object(sample):
    result = run("check", sample_path(sample), "-a", "softmax", "--json")
    assert result.exit_code == (0 if sample in {"correct-vectorized", "mutates-inputs"} else 1)
    assert result.stdout.count("\n") == 1
    obj = json.loads(result.stdout)
    assert set(obj) >= RESULT_KEYS
    assert obj["submission"] == sample
    assert obj["assignment"] == "softmax"
    assert obj["path"].endswith("softmax.py") or obj["path"].endswith(f"{sample}.py")
    assert obj["status"] in {"graded", "error"}
    assert isinstance(obj["score"], (int, float)) and isinstance(obj["max_score"], (int, float))
    assert isinstance(obj["elapsed_s"], (int, float)) and obj["elapsed_s"] >= 0
    assert len(obj["mistakes"]) == len(set(obj["mistakes"]))
    assert set(obj["mistakes"]) == {m for c in obj["checks"] for m in c["mistakes"]}
    for check in obj["checks"]:
        assert set(check) >= CHECK_KEYS
        assert isinstance(check["passed"], bool) and isinstance(check["mistakes"], list)
        assert check["function"] in check["id"]
    if sample == "syntax-error":
        assert obj["status"] == "error" and obj["checks"] == [] and obj["message"]


def test_check_json_result_names_the_sign_flip():
    obj = json.loads(run("check", sample_path("sign-flipped"), "-a", "softmax", "--json").stdout)
    assert obj["mistakes"] == ["sign-flipped"]
    gradient = next(c for c in obj["checks"] if c["id"] == "softmax_loss.gradient")
    assert (
        gradient["passed"] is False
        and gradient["mistakes"] == ["sign-flipped"]
        and gradient["max_score"] > 0
    )


def test_check_json_in_a_real_process_prints_only_json(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradgrader",
            "check",
            str(sample_path("sign-flipped")),
            "-a",
            "softmax",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert len(proc.stdout.splitlines()) == 1
    assert json.loads(proc.stdout)["submission"] == "sign-flipped"
    assert "Traceback" not in proc.stderr


def test_assignment_option_accepts_a_folder_path():
    result = run("check", sample_path("correct-vectorized"), "-a", SOFTMAX, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["assignment"] == "softmax"


def test_assignment_option_accepts_a_course_own_folder(tmp_path):
    course = copy_assignment(tmp_path / "course" / "softmax-2026")
    result = run("check", sample_path("sign-flipped"), "-a", course, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["mistakes"] == ["sign-flipped"]


def test_python_dash_m_gradgrader_help_works(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gradgrader", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "check" in proc.stdout and "grade" in proc.stdout


# ----------------------------------------------------------------- grade

CLASS = ["correct-vectorized", "sign-flipped", "syntax-error", "mutates-inputs"]


@pytest.fixture(scope="module")
def graded_class_folder(tmp_path_factory):
    """A small class graded once with two jobs: (class folder, out folder, CLI result)."""
    root = tmp_path_factory.mktemp("cli-class")
    folder = make_class(root / "class", CLASS)
    out = root / "out"
    result = run("grade", folder, "-a", "softmax", "--out", out, "--jobs", "2", WEAK_OK)
    return folder, out, result


def test_grade_exits_0_whatever_the_scores(graded_class_folder):
    _, _, result = graded_class_folder
    assert result.exit_code == 0, result.output


def test_grade_writes_one_result_line_per_submission(graded_class_folder):
    _, out, _ = graded_class_folder
    objs = [json.loads(line) for line in lines(out)]
    assert sorted(o["submission"] for o in objs) == sorted(CLASS)
    for obj in objs:
        assert set(obj) >= RESULT_KEYS
    statuses = {o["submission"]: o["status"] for o in objs}
    assert statuses == {
        "correct-vectorized": "graded",
        "sign-flipped": "graded",
        "syntax-error": "error",
        "mutates-inputs": "graded",
    }


def test_grade_writes_grades_csv_matching_the_results(graded_class_folder):
    _, out, _ = graded_class_folder
    with (out / "grades.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:4] == ["submission", "score", "max_score", "status"]
    results = {r["submission"]: r for r in read_results(out)}
    assert sorted(r["submission"] for r in rows) == sorted(CLASS)
    for row in rows:
        r = results[row["submission"]]
        assert float(row["score"]) == pytest.approx(r["score"])
        assert float(row["max_score"]) == pytest.approx(r["max_score"]) == 10.0
        assert row["status"] == r["status"]
    assert float(next(r for r in rows if r["submission"] == "correct-vectorized")["score"]) == 10.0


def test_grade_results_match_the_samples_expected_verdicts(graded_class_folder, graded_samples):
    _, out, _ = graded_class_folder
    for sid, r in by_submission(out).items():
        assert r["score"] == graded_samples[sid].score
        assert r["mistakes"] == list(graded_samples[sid].mistakes)


def test_grade_gives_the_same_results_with_one_job_or_two(graded_class_folder, tmp_path):
    folder, out2, _ = graded_class_folder
    out1 = tmp_path / "out1"
    assert (
        run("grade", folder, "-a", "softmax", "--out", out1, "--jobs", "1", WEAK_OK).exit_code == 0
    )
    assert by_submission(out1) == by_submission(out2)


def test_grade_accepts_an_assignment_folder_path(tmp_path):
    folder = make_class(tmp_path / "class", ["sign-flipped"])
    course = copy_assignment(tmp_path / "course" / "softmax")
    result = run("grade", folder, "-a", course, "--out", tmp_path / "out", WEAK_OK)
    assert result.exit_code == 0, result.output
    [r] = read_results(tmp_path / "out")
    assert r["assignment"] == "softmax" and r["mistakes"] == ["sign-flipped"]


def test_grade_without_resume_starts_a_fresh_results_file(tmp_path):
    folder = make_class(tmp_path / "class", ["correct-vectorized"])
    out = tmp_path / "out"
    for _ in range(2):
        assert run("grade", folder, "-a", "softmax", "--out", out, WEAK_OK).exit_code == 0
    assert len(lines(out)) == 1


def test_resume_grades_everyone_again_when_the_rubric_changed(tmp_path):
    folder = make_class(tmp_path / "class", ["correct-vectorized", "sign-flipped"])
    out = tmp_path / "out"
    assert run("grade", folder, "-a", "softmax", "--out", out, "--skip-validation", WEAK_OK).exit_code == 0
    rubric = tmp_path / "rubric.toml"
    text = (SOFTMAX.parent.parent / "rubrics" / "softmax.toml").read_text(encoding="utf-8")
    rubric.write_text(text.replace('[checks."softmax_loss.gradient"]\npoints = 1.5', '[checks."softmax_loss.gradient"]\npoints = 5'), encoding="utf-8")
    result = run("grade", folder, "-a", "softmax", "--out", out, "--resume", "--rubric", rubric, "--skip-validation", WEAK_OK)
    assert result.exit_code == 0, result.output
    assert "rubric changed" in result.stderr
    assert {r["submission"]: r["max_score"] for r in read_results(out)} == {"correct-vectorized": 13.5, "sign-flipped": 13.5}
    assert "correct-vectorized,13.5,13.5" in (out / "grades.csv").read_text(encoding="utf-8")


def test_a_regrade_for_a_new_rubric_that_stopped_halfway_resumes_as_a_regrade(tmp_path):
    """Each result line carries the fingerprint it was graded under: a submission left
    over from the old rubric (here: out of the class during the interrupted re-grade)
    is graded again by the next --resume, not kept with the old scale."""
    folder = make_class(tmp_path / "class", ["correct-vectorized", "sign-flipped"])
    out = tmp_path / "out"
    assert run("grade", folder, "-a", "softmax", "--out", out, "--skip-validation", WEAK_OK).exit_code == 0
    rubric = tmp_path / "rubric.toml"
    text = (SOFTMAX.parent.parent / "rubrics" / "softmax.toml").read_text(encoding="utf-8")
    rubric.write_text(text.replace('[checks."softmax_loss.gradient"]\npoints = 1.5', '[checks."softmax_loss.gradient"]\npoints = 5'), encoding="utf-8")
    aside = tmp_path / "aside"
    shutil.move(folder / "sign-flipped", aside)  # the re-grade stops before reaching it
    args = ("grade", folder, "-a", "softmax", "--out", out, "--resume", "--rubric", rubric, "--skip-validation", WEAK_OK)
    assert run(*args).exit_code == 0
    shutil.move(aside, folder / "sign-flipped")
    assert run(*args).exit_code == 0
    assert {r["submission"]: r["max_score"] for r in read_results(out)} == {"correct-vectorized": 13.5, "sign-flipped": 13.5}


def test_an_output_folder_of_another_assignment_is_refused(tmp_path):
    folder = make_class(tmp_path / "class", ["correct-vectorized"])
    out = tmp_path / "out"
    assert run("grade", folder, "-a", "softmax", "--out", out, "--skip-validation", WEAK_OK).exit_code == 0
    gmm_class = tmp_path / "gmm-class"
    shutil.copytree(SOFTMAX.parent / "gmm" / "samples" / "correct-vectorized", gmm_class / "correct-vectorized")
    for extra in ((), ("--resume",)):
        result = run("grade", gmm_class, "-a", "gmm", "--out", out, "--skip-validation", WEAK_OK, *extra)
        assert result.exit_code == 2 and "holds results of the assignment 'softmax'" in result.stderr
    assert [r["submission"] for r in read_results(out)] == ["correct-vectorized"]  # untouched


def test_a_student_removed_before_a_resume_leaves_the_grades(tmp_path):
    folder = make_class(tmp_path / "class", ["correct-vectorized", "sign-flipped"])
    out = tmp_path / "out"
    assert run("grade", folder, "-a", "softmax", "--out", out, "--skip-validation", WEAK_OK).exit_code == 0
    shutil.rmtree(folder / "sign-flipped")
    result = run("grade", folder, "-a", "softmax", "--out", out, "--resume", "--skip-validation", WEAK_OK)
    assert result.exit_code == 0 and "no longer in the class" in result.stderr
    assert [r["submission"] for r in read_results(out)] == ["correct-vectorized"]
    assert "sign-flipped" not in (out / "grades.csv").read_text(encoding="utf-8")
    assert "sign-flipped" not in (out / "gradebook.csv").read_text(encoding="utf-8")
    assert len(read_results(out, everyone=True)) == 2  # its line is kept in results.jsonl


def test_resume_regrades_only_changed_submissions(tmp_path):
    folder = make_class(
        tmp_path / "class", ["correct-vectorized", "sign-flipped", "mutates-inputs"]
    )
    out = tmp_path / "out"
    assert run("grade", folder, "-a", "softmax", "--out", out, WEAK_OK).exit_code == 0
    before = lines(out)
    assert len(before) == 3

    changed = folder / "sign-flipped" / "softmax.py"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n# resubmitted\n", encoding="utf-8")
    result = run("grade", folder, "-a", "softmax", "--out", out, "--resume", WEAK_OK)
    assert result.exit_code == 0, result.output
    after = lines(out)
    assert after[:3] == before  # unchanged lines kept as they were
    assert len(after) == 4 and json.loads(after[3])["submission"] == "sign-flipped"
    kept = {r["submission"]: r for r in read_results(out)}
    assert set(kept) == {"correct-vectorized", "sign-flipped", "mutates-inputs"}
    assert kept["correct-vectorized"] == json.loads(
        next(line for line in before if '"correct-vectorized"' in line)
    )

    again = run("grade", folder, "-a", "softmax", "--out", out, "--resume", WEAK_OK)
    assert again.exit_code == 0 and lines(out) == after  # nothing changed: nothing graded


def test_resume_repairs_a_torn_last_line(tmp_path):
    folder = make_class(
        tmp_path / "class", ["correct-vectorized", "sign-flipped", "mutates-inputs"]
    )
    out = tmp_path / "out"
    assert run("grade", folder, "-a", "softmax", "--out", out, WEAK_OK).exit_code == 0
    # The run was killed while writing sign-flipped's line: half of it, no newline.
    whole = lines(out)
    torn = next(line for line in whole if '"sign-flipped"' in line)
    kept = [line for line in whole if line is not torn]
    (out / "results.jsonl").write_text("".join(kept) + torn[: len(torn) // 2], encoding="utf-8")

    result = run("grade", folder, "-a", "softmax", "--out", out, "--resume", WEAK_OK)
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in lines(out)]  # every line parses
    assert sorted(o["submission"] for o in objs) == [
        "correct-vectorized",
        "mutates-inputs",
        "sign-flipped",
    ]
    assert (out / "results.jsonl").read_bytes().endswith(b"\n")
    with (out / "grades.csv").open(newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 3


def test_grade_refuses_a_weak_sandbox_unless_allowed(tmp_path):
    folder = make_class(tmp_path / "class", ["mutates-inputs"])
    weak = {"GRADGRADER_DISABLE": "namespaces,landlock,seccomp"}
    refused = run("grade", folder, "-a", "softmax", "--out", tmp_path / "out", env=weak)
    assert refused.exit_code == 2
    assert WEAK_OK in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()
    allowed = run("grade", folder, "-a", "softmax", "--out", tmp_path / "out", WEAK_OK, env=weak)
    assert allowed.exit_code == 0, allowed.output
    [r] = read_results(tmp_path / "out")
    assert r["score"] == 10.0 and r.get("sandbox") == "weak"


def test_grade_never_writes_inside_the_class_folder(graded_class_folder):
    folder, _, _ = graded_class_folder
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    expected = sorted(
        p.relative_to(SAMPLES).as_posix()
        for s in CLASS
        for p in (
            [sample_path(s)] + list(sample_path(s).rglob("*"))
            if sample_path(s).is_dir()
            else [sample_path(s)]
        )
    )
    assert names == expected


def test_check_file_stages_its_folder_as_check_folder_and_grade_do(tmp_path: Path) -> None:
    """Issue 19: a softmax.py that opens weights.txt beside it scores the same from
    `check FILE`, `check FOLDER` and `grade` (before, check FILE ran it alone: 0)."""
    student = tmp_path / "class" / "alice"
    student.mkdir(parents=True)
    good = (sample_path("correct-vectorized") / "softmax.py").read_text()
    (student / "softmax.py").write_text(
        "import os\n"
        "with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights.txt')) as _f:\n"
        "    SCALE = float(_f.read())\n" + good
    )
    (student / "weights.txt").write_text("1.0\n")
    scores = []
    for target in (student / "softmax.py", student):
        r = run("check", target, "-a", "softmax", "--json")
        scores.append(json.loads(r.stdout)["score"])
    out = tmp_path / "out"
    r = run("grade", tmp_path / "class", "-a", "softmax", "--out", out, WEAK_OK)
    [graded] = read_results(out)
    scores.append(graded["score"])
    assert scores[0] == scores[1] == scores[2] == 10, scores


def test_the_cli_does_not_import_textual_until_review() -> None:
    loaded = imported_after(["gradgrader.cli"])
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


# ---------------------------------------------------------------- the console script's process (#17)


def test_every_blas_gets_one_thread_unless_the_user_chose() -> None:
    env: dict[str, str] = {}
    one_blas_thread(env)
    assert env == {name: "1" for name in BLAS_THREADS}
    chosen = {"OMP_NUM_THREADS": "4"}
    one_blas_thread(chosen)
    assert chosen == {"OMP_NUM_THREADS": "4"}  # OpenBLAS would otherwise read our 1 first


def test_the_command_runs_numpy_with_one_blas_thread() -> None:
    """Set before numpy loads: the grader's own numpy (references, checks) spins no idle
    BLAS threads that would take the students' processes' cores."""
    code = (
        "import os, sys\n"
        "for name in %r: os.environ.pop(name, None)\n"
        "sys.argv = ['gradgrader', '--help']\n"
        "import gradgrader.cli as cli\n"
        "assert 'numpy' not in sys.modules\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "import numpy\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'])\n"
    ) % (BLAS_THREADS,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "1"


def test_messages_on_stderr_print_paths_as_they_are(tmp_path: Path) -> None:
    """Not as rich's emoji codes: a file named ``hw:fire:1.py`` stays so in the message."""
    missing = tmp_path / "hw:fire:1.py"
    result = CliRunner().invoke(app, ["check", str(missing), "-a", "softmax"])
    assert result.exit_code == 2
    assert "hw:fire:1.py: no such file or folder" in result.stderr, result.stderr


RUN = (
    "import atexit, sys\n"
    "class Loud:\n"
    "    def __del__(self):\n"
    "        sys.stderr.write('torn down\\n')\n"
    "kept = Loud()\n"
    "atexit.register(lambda: sys.stderr.write('exit functions ran\\n'))\n"
    "sys.argv = ['gradgrader', *{args!r}]\n"
    "from gradgrader.cli import run\n"
    "run()\n"
)


def test_a_check_ends_without_tearing_the_interpreter_down() -> None:
    """run() (the script and python -m) exits at once after a check (#17: the teardown
    was ~20 ms of it), yet as a normal exit would: every line out, exit functions run."""
    sample = str(SOFTMAX / "samples" / "correct-vectorized" / "softmax.py")
    code = RUN.format(args=["check", sample, "-a", "softmax", "--json"])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["score"] == 10.0
    assert "exit functions ran" in proc.stderr
    assert "torn down" not in proc.stderr


def test_other_commands_and_failed_checks_exit_as_usual() -> None:
    code = RUN.format(args=["assignments"])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "softmax" in proc.stdout
    assert "exit functions ran" in proc.stderr and "torn down" in proc.stderr
    code = RUN.format(args=["check", "no-such-file.py", "-a", "softmax"])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr
    assert "exit functions ran" in proc.stderr


def test_a_check_runs_without_the_garbage_collector_and_a_watch_turns_it_back_on() -> None:
    """Collecting cycles while a check imports and grades took ~10 ms, and turning the
    collector on before printing the result ~10 ms more (#17): a single check runs without
    it to its exit, a --watch (which runs for long) turns it back on after its first result."""
    sample = str(SOFTMAX / "samples" / "correct-vectorized" / "softmax.py")
    code = (
        "import atexit, gc, sys\n"
        "import gradgrader.cli._checkrun as checkrun\n"
        "from gradgrader.grading import Grader\n"
        "seen = []\n"
        "grade = Grader.grade\n"
        "def watched(self, submission):\n"
        "    seen.append(gc.isenabled())\n"
        "    return grade(self, submission)\n"
        "Grader.grade = watched\n"
        "def saved(path, since):\n"
        "    raise KeyboardInterrupt  # Ctrl-C instead of a second save\n"
        "checkrun._wait_for_change = saved\n"
        "atexit.register(lambda: sys.stderr.write(f'while grading: {seen}, after: {gc.isenabled()}\\n'))\n"
        "sys.argv = ['gradgrader', 'check', SAMPLE, '-a', 'softmax', '--json' WATCH]\n"
        "from gradgrader.cli import run\n"
        "run()\n"
    )
    once = subprocess.run([sys.executable, "-c", code.replace("SAMPLE", repr(sample)).replace(" WATCH", "")], capture_output=True, text=True)
    assert once.returncode == 0, once.stderr
    assert "while grading: [False], after: False" in once.stderr
    watching = subprocess.run([sys.executable, "-c", code.replace("SAMPLE", repr(sample)).replace(" WATCH", ", '--watch'")], capture_output=True, text=True)
    assert watching.returncode == 0, watching.stderr
    assert "while grading: [False], after: True" in watching.stderr
