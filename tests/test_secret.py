"""What a pack gives away (issue 16): course grading generates its inputs from the public
seed mixed with a course secret, so a submission that only looks answers up in a
student pack scores (almost) nothing, the hidden case cannot be regenerated from a pack,
and the same secret still gives the same results (--resume, re-grades, the cluster)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gradgrader.assignment import load_assignment
from gradgrader.cases import case_inputs, with_secret
from gradgrader.checks.base import REDRAW_SEED
from gradgrader.cli import app
from gradgrader.grading import SECRET_ENV, Grader, course_secret
from gradgrader.ingest import discover
from gradgrader.pack import load_table
from gradgrader.results import read_results, read_run
from gradgrader.rubric import resolve_rubric

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
ATTACK = ROOT / "tests" / "attacks" / "lookup-the-pack.py"
CORRECT = ROOT / "assignments" / "softmax" / "samples" / "correct-vectorized" / "softmax.py"
GMM = ROOT / "assignments" / "gmm" / "samples"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "softmax-pack"
    result = CliRunner().invoke(app, ["pack", "softmax", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def lookup_class(pack: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mallory submits the lookup attack with a copy of the pack's recording; alice is honest."""
    folder = tmp_path_factory.mktemp("lookup") / "class"
    (folder / "mallory").mkdir(parents=True)
    shutil.copyfile(ATTACK, folder / "mallory" / "softmax.py")
    for name in ("expected.json", "expected.npz"):
        shutil.copyfile(pack / name, folder / "mallory" / name)
    (folder / "alice").mkdir()
    shutil.copyfile(CORRECT, folder / "alice" / "softmax.py")
    return folder


def test_the_lookup_attack_works_on_the_public_inputs(lookup_class: Path) -> None:
    """Without a secret (the inputs the pack records) looking answers up is worth most
    of the grade: the attack is real, and the secret is what stops it."""
    spec = load_assignment("softmax")
    with Grader(spec, resolve_rubric(spec), jobs=1) as grader:
        got = {r.submission: r for r in grader.grade_all(discover(lookup_class, spec.filename))}
    assert got["mallory"].score >= 7.0, got["mallory"].to_json()  # 7.3 of 10 when written


def test_a_submission_that_looks_answers_up_in_the_pack_scores_nothing(lookup_class: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["grade", str(lookup_class), "-a", "softmax", "-o", str(out), "--jobs", "1",
                                      "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.output
    got = {r["submission"]: r for r in read_results(out)}
    assert got["alice"]["score"] == 10.0
    # 0.5 at most: a check whose every case the attack fails still gets nothing; what is
    # left is a property an exception cannot break (none today), so in practice 0.
    assert got["mallory"]["score"] <= 0.5, got["mallory"]


def test_no_input_course_grading_uses_is_in_the_pack(pack: Path) -> None:
    """Every recorded input of the pack differs from the input of the same function and
    case under course grading, and the pack's seed regenerates the hidden case's
    public shape but not its values."""
    full = load_assignment("softmax")
    secret, _ = course_secret(full)
    graded = with_secret(full, secret)
    recorded = {k: v for k, v in load_table(pack).items() if k.startswith("inputs:")}
    assert recorded
    for key, values in recorded.items():
        _, function, case, *redrawn = key.split(":")
        # A pack also records the inputs drawn again for the real-answer test (seed + offset).
        source = dataclasses.replace(graded, seed=graded.seed + REDRAW_SEED) if redrawn else graded
        now = case_inputs(source, function, case)
        arrays = [name for name, v in values.items() if isinstance(v, np.ndarray) and v.size > 1]
        assert arrays, key
        for name in arrays:
            assert not np.array_equal(values[name], now[name]), (key, name)
    # The hidden case from the pack's own seed and the sizes feedback shows (N=23, …).
    pack_seed = tomllib.loads((pack / "assignment.toml").read_text(encoding="utf-8"))["assignment"]["seed"]
    guessed = case_inputs(dataclasses.replace(full, seed=pack_seed), "softmax_loss", "hidden")
    real = case_inputs(graded, "softmax_loss", "hidden")
    assert guessed["X"].shape == real["X"].shape and not np.array_equal(guessed["X"], real["X"])
    assert not np.array_equal(guessed["W"], real["W"])


def test_the_secret_comes_from_the_environment_the_course_folder_or_the_results_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = tmp_path / "course" / "gmm"
    shutil.copytree(ROOT / "assignments" / "gmm", course, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    spec = load_assignment(course)
    monkeypatch.setenv(SECRET_ENV, "from-env")
    assert course_secret(spec, "recorded") == ("from-env", f"${SECRET_ENV}")
    monkeypatch.delenv(SECRET_ENV)
    assert course_secret(spec, "recorded")[0] == "recorded"
    new, source = course_secret(spec)
    assert source == "new" and len(new) == 32 and course_secret(spec)[0] != new
    (course / "secret.txt").write_text("course secret\n", encoding="utf-8")
    assert course_secret(spec, "recorded") == ("course secret", str(course / "secret.txt"))
    # ... and a student pack of that course never holds it.
    packed = CliRunner().invoke(app, ["pack", str(course), "--out", str(tmp_path / "pack")])
    assert packed.exit_code == 0, packed.output
    assert not (tmp_path / "pack" / "secret.txt").exists()
    assert not any(b"course secret" in p.read_bytes() for p in (tmp_path / "pack").rglob("*") if p.is_file())


def test_a_new_secret_is_recorded_and_resume_and_regrades_keep_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    folder = tmp_path / "class"
    for sid, sample in {"alice": "correct-vectorized", "bob": "sign-flipped"}.items():
        shutil.copytree(GMM / sample, folder / sid)
    out, other = tmp_path / "out", tmp_path / "other"

    def grade(target: Path, *more: str):
        result = CliRunner().invoke(app, ["grade", str(folder), "-a", "gmm", "-o", str(target), "--jobs", "1",
                                          "--skip-validation", "--allow-weak-sandbox", *more])
        assert result.exit_code == 0, result.output
        return result

    assert "(new, recorded in" in grade(out).stderr
    secret = read_run(out)["input_secret"]
    first = {r["submission"]: r for r in read_results(out)}
    # Without --resume the folder's secret is kept too: grading again changes nothing.
    again = grade(out)
    assert "(from the results folder's run.json)" in again.stderr and read_run(out)["input_secret"] == secret
    assert {r["submission"]: {**r, "elapsed_s": 0} for r in read_results(out)} == {
        s: {**r, "elapsed_s": 0} for s, r in first.items()}
    assert "grading 0 submission(s)" in grade(out, "--resume").stderr
    # Another results folder gets a secret of its own: other inputs, the same verdicts.
    grade(other)
    assert read_run(other)["input_secret"] != secret
    for r in read_results(other):
        assert (r["score"], r["mistakes"]) == (first[r["submission"]]["score"], first[r["submission"]]["mistakes"])
    # A course secret set later is a change: --resume grades everyone again.
    monkeypatch.setenv(SECRET_ENV, "set later")
    assert "grading 2 submission(s)" in grade(out, "--resume").stderr


def test_the_cluster_generates_the_inputs_of_the_secret(tmp_path: Path) -> None:
    """The seed made with the secret travels to Dask workers (never the secret): a
    worker's grader generates exactly the inputs local grading does."""
    from gradgrader.distributed import close_worker, pack_assignment
    from gradgrader.distributed.worker import _grader_for

    spec = with_secret(load_assignment("gmm"), "course secret")
    payload = pack_assignment(spec, resolve_rubric(spec))
    assert payload["seed"] == spec.seed and not any(b"course secret" in data for data in payload["files"].values())
    assert payload["digest"] != pack_assignment(load_assignment("gmm"), resolve_rubric(spec))["digest"]
    try:
        worker = _grader_for(payload, allow_weak=True)
        assert worker.course.assignment.seed == spec.seed
        mine, theirs = case_inputs(spec, "grad_mu", "small"), worker.course.inputs("grad_mu", "small")
        assert all(np.array_equal(mine[k], theirs[k]) for k in mine)
    finally:
        close_worker()


def test_the_recorded_secret_is_in_run_json_only(tmp_path: Path) -> None:
    """Feedback files (what students receive) and the tables never carry the secret."""
    folder = tmp_path / "class"
    shutil.copytree(GMM / "sign-flipped", folder / "bob")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["grade", str(folder), "-a", "gmm", "-o", str(out), "--skip-validation",
                                      "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.output
    secret = json.loads((out / "run.json").read_text(encoding="utf-8"))["input_secret"]
    for path in out.rglob("*"):
        if path.is_file() and path.name != "run.json":
            assert secret.encode() not in path.read_bytes(), path


def test_a_reviewers_regrade_uses_the_runs_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gradgrader review`'s re-grade (g) gives exactly the line `grade` wrote, with no
    secret in the environment: it reads the run's from run.json."""
    from gradgrader.review import load_run, regrade

    monkeypatch.delenv(SECRET_ENV, raising=False)
    folder = tmp_path / "class"
    shutil.copytree(GMM / "missing-half", folder / "carol")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["grade", str(folder), "-a", "gmm", "-o", str(out), "--skip-validation",
                                      "--allow-weak-sandbox"])
    assert result.exit_code == 0, result.output
    [line] = read_results(out)
    again = regrade(line, {**load_run(out), "allow_weak_sandbox": True})
    drop = {"elapsed_s"}
    assert {k: v for k, v in again.items() if k not in drop} == {k: v for k, v in line.items() if k not in drop}
    # ... and the secret is what makes it so: the public inputs give other numbers.
    public = regrade(line, {**load_run(out), "allow_weak_sandbox": True, "input_secret": None})
    assert [c["message"] for c in public["checks"]] != [c["message"] for c in line["checks"]]
