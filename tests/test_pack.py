"""A student pack holds no reference source and grades public cases exactly as the course does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LOGISTIC_FD
from typer.testing import CliRunner

from gradgrader.assignment import load_assignment
from gradgrader.cli import app
from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import discover
from gradgrader.pack import make_pack
from gradgrader.rubric import resolve_rubric

ROOT = Path(__file__).resolve().parents[1]
SOFTMAX = ROOT / "assignments" / "softmax"
SAMPLES = ["correct-vectorized", "correct-float32", "sign-flipped", "transposed", "unstable-softmax",
           "loss-gradient-mismatch", "missing-indicator-term", "jacobian-missing-diagonal", "not-implemented"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack") / "softmax-pack"
    result = CliRunner().invoke(app, ["pack", "softmax", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    return out


def graded(assignment: str | Path, tmp: Path) -> dict[str, dict]:
    cls = tmp / "class"
    if not cls.exists():
        cls.mkdir()
        for sid in SAMPLES:
            (cls / sid).mkdir()
            (cls / sid / "softmax.py").write_text((SOFTMAX / "samples" / sid / "softmax.py").read_text())
    spec = load_assignment(assignment)
    with Grader(spec, resolve_rubric(spec), jobs=2) as grader:
        return {r.submission: r.to_json() for r in grader.grade_all(discover(cls, spec.filename))}


def test_the_pack_contains_no_reference_source(pack: Path) -> None:
    names = {p.name for p in pack.rglob("*")}
    assert "reference.py" not in names and "hooks.py" not in names and "samples" not in names
    reference = (SOFTMAX / "reference.py").read_text()
    body_lines = [line.strip() for line in reference.splitlines() if line.strip().startswith(("return", "dW", "loss"))]
    assert body_lines
    for path in pack.rglob("*"):
        if path.is_file() and path.suffix != ".npz":
            text = path.read_text(encoding="utf-8")
            assert not any(line in text for line in body_lines), f"{path.name} quotes the reference"


def test_hidden_cases_and_course_hooks_stay_out(pack: Path) -> None:
    toml = (pack / "assignment.toml").read_text()
    assert "[cases.hidden]" not in toml and '"hidden"' not in toml
    assert 'hook = "train_digits"' not in toml
    assert not any(":hidden" in key for key in json.loads((pack / "expected.json").read_text()))
    assert "softmax_loss.training" not in (pack / "rubric.toml").read_text()


def test_the_pack_grades_public_cases_exactly_like_the_course(pack: Path, tmp_path: Path) -> None:
    full = graded("softmax", tmp_path)
    packed = graded(pack, tmp_path)
    for sid in SAMPLES:
        assert packed[sid]["status"] == full[sid]["status"], sid
        full_checks = {c["id"]: c for c in full[sid]["checks"]}
        for check in packed[sid]["checks"]:
            ref = full_checks[check["id"]]
            want = [c for c in ref.get("cases", []) if c["case"] != "hidden"]
            assert [(c["case"], c["passed"]) for c in check.get("cases", [])] == [(c["case"], c["passed"]) for c in want], (sid, check["id"])
            assert set(check["mistakes"]) <= set(ref["mistakes"]) | {"grader-error"} and "grader-error" not in check["mistakes"], (sid, check["id"])
    assert packed["correct-vectorized"]["score"] == packed["correct-vectorized"]["max_score"]


def test_a_pack_cannot_be_validated_or_packed_again(pack: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="already a student pack"):
        make_pack(str(pack), tmp_path / "again")
    result = CliRunner().invoke(app, ["validate", str(pack)])
    assert result.exit_code == 1 and "student pack" in result.stdout


CS231N = ROOT / "assignments" / "cs231n-softmax"
CS231N_SAMPLES = ["correct-2016", "correct-2017", "loss-gradient-mismatch", "operator-precedence", "starter"]


def test_an_assignment_with_two_conventions_packs_and_each_convention_grades_as_in_the_course(tmp_path: Path) -> None:
    """CS231n accepts reg·ΣW² and ½·reg·ΣW²: the pack records both references' answers
    (never their source), picks the same convention per student and grades the checks
    it keeps exactly as the course does."""
    import shutil

    out = tmp_path / "cs231n-pack"
    result = CliRunner().invoke(app, ["pack", "cs231n-softmax", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert not list(out.glob("reference*.py")) and (out / "past").is_dir()  # the helper package comes along
    cls = tmp_path / "class"
    for sid in CS231N_SAMPLES:
        shutil.copytree(CS231N / "samples" / sid, cls / sid)

    def grade(assignment: str | Path) -> dict[str, dict]:
        spec = load_assignment(assignment)
        with Grader(spec, resolve_rubric(spec), jobs=2) as grader:
            return {r.submission: r.to_json() for r in grader.grade_all(discover(cls, spec.filename))}

    full, packed = grade("cs231n-softmax"), grade(out)
    shipped = set(load_assignment(out).cases)  # no hidden case, nor the 12 MB 'course' case
    assert "course" not in shipped and "the case 'course'" in (out / "pack.json").read_text(encoding="utf-8")
    conventions = set()
    for sid in CS231N_SAMPLES:
        assert packed[sid].get("convention") == full[sid].get("convention"), sid
        conventions.add((full[sid].get("convention") or {}).get("name"))
        full_checks = {c["id"]: c for c in full[sid]["checks"]}
        for check in packed[sid]["checks"]:
            ref = full_checks[check["id"]]
            assert [(c["case"], c["passed"]) for c in check.get("cases", [])] == [
                (c["case"], c["passed"]) for c in ref.get("cases", []) if c["case"] in shipped
            ], (sid, check["id"])
            assert set(check["mistakes"]) <= set(ref["mistakes"]) and "grader-error" not in check["mistakes"], (sid, check["id"])
    assert {"full", "half"} <= conventions
    assert packed["correct-2016"]["score"] == packed["correct-2016"]["max_score"]
    assert packed["correct-2017"]["score"] == packed["correct-2017"]["max_score"]


def test_a_pack_says_its_scale_and_what_only_the_course_grades(pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradgrader.cli._early as early

    started: list[Path] = []
    real_prestart = early.prestart_for
    monkeypatch.setattr(early, "prestart_for", lambda root: started.append(root) or real_prestart(root))
    sample = SOFTMAX / "samples" / "correct-vectorized" / "softmax.py"
    checked = CliRunner().invoke(app, ["check", str(sample), "-a", str(pack)])
    assert "graded out of 9.5 here, out of 10 by the course" in checked.stdout
    assert "softmax_loss.training" in checked.stdout
    cls = tmp_path / "class" / "alice"
    cls.mkdir(parents=True)
    (cls / "softmax.py").write_text(sample.read_text())
    graded = CliRunner().invoke(app, ["grade", str(tmp_path / "class"), "-a", str(pack), "-o", str(tmp_path / "out"),
                                      "--allow-weak-sandbox"])
    assert graded.exit_code == 0 and "is a student pack" in graded.stderr and "course's own assignment" in graded.stderr
    assert started == []  # a pack has no reference to validate: no sandbox is started for it


def test_an_assignment_with_course_objects_as_arguments_packs(tmp_path: Path) -> None:
    """MIT 6.86x's estep takes a GaussianMixture (a course type): the pack records its
    fields and rebuilds it, so the shipped pack grades the correct sample in full."""
    out = tmp_path / "mit-pack"
    assert CliRunner().invoke(app, ["pack", "mit686x-em", "--out", str(out)]).exit_code == 0
    assert "object" in (out / "expected.json").read_text(encoding="utf-8")
    checked = CliRunner().invoke(app, ["check", str(ROOT / "assignments" / "mit686x-em" / "samples" / "correct"), "-a", str(out)])
    assert checked.exit_code == 0, checked.output


def test_a_failed_pack_leaves_no_half_written_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradgrader.pack as pack_module

    def broken(table: dict, root: Path) -> None:
        raise ValueError("cannot record")

    monkeypatch.setattr(pack_module, "save_table", broken)
    with pytest.raises(ValueError):
        make_pack("gmm", tmp_path / "pack")
    assert not (tmp_path / "pack").exists()


def test_the_pack_command_prints_the_authoring_warnings(tmp_path):
    # tests/assignments/logistic names mistakes without feedback text: `pack` says so.
    from pathlib import Path

    from typer.testing import CliRunner

    from gradgrader.cli import app

    course = Path(__file__).resolve().parent / "assignments" / "logistic"
    result = CliRunner().invoke(app, ["pack", str(course), "--out", str(tmp_path / "pack")])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "feedback" in result.output


def test_a_pack_that_holds_nothing_back_says_so_in_words(tmp_path):
    import json

    from gradgrader.pack import PACK_INFO, pack_note

    (tmp_path / PACK_INFO).write_text(json.dumps({"course_max_score": 10, "max_score": 10, "left_out": []}))
    note = pack_note(tmp_path)
    assert "grades nothing" not in note and "every check of the course runs here too" in note


def test_a_student_pack_replays_the_objective_function(tmp_path: Path) -> None:
    """The pack has no reference: the objective's values at the perturbed points are
    recorded when it is made and replayed when a student checks."""
    from gradgrader.pack import make_pack

    pack = make_pack(str(LOGISTIC_FD), tmp_path / "pack")
    assert not (pack / "reference.py").exists()
    spec = load_assignment(pack)
    with Grader(spec, resolve_rubric(spec)) as grader:
        results = {r.submission: r.to_json() for r in grader.grade_all(discover(LOGISTIC_FD / "samples", spec.filename))}
    assert results["correct"]["score"] == results["correct"]["max_score"]
    assert not {c["id"]: c["passed"] for c in results["sign-flipped"]["checks"]}["loss_and_grad.finite_differences"]


def test_a_student_pack_gives_the_same_advice_and_names_the_same_degenerate_answers(tmp_path):
    """A pack replays the reference's recording: the redrawn inputs behind ignores-input
    are recorded with the rest, so a student's self-check agrees with the course."""
    from pathlib import Path

    from typer.testing import CliRunner

    from gradgrader.cli import app

    samples = Path(__file__).resolve().parent.parent / "assignments" / "softmax" / "samples"
    runner = CliRunner()
    packed = runner.invoke(app, ["pack", "softmax", "--out", str(tmp_path / "pack")])
    assert packed.exit_code == 0, packed.output

    def check(sample: str) -> dict:
        got = runner.invoke(app, ["check", str(samples / sample / "softmax.py"), "-a", str(tmp_path / "pack"), "--json"])
        return json.loads(got.stdout)

    advised = check("log-of-softmax")
    assert advised["score"] == advised["max_score"] and advised["advice"] == ["softmax_loss.stable"]
    uniform = check("uniform-softmax")
    assert uniform["mistakes"] == ["ignores-input"]
    assert {c["id"]: c["score"] for c in uniform["checks"] if c["function"] == "softmax"}["softmax.rows_sum_to_one"] == 0.0
