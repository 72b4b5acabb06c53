"""A student install holds no answer key (issue 16): the wheel (what `pip install
gradgrader` puts on a student's disk) and the source distribution ship the shipped
assignments as student packs only; `check` works from the installed pack, while a
repository checkout (or GRADGRADER_HOME) still grades with the full assignment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from gradgrader.pack import is_pack, load_table, make_pack
from gradgrader.spec import shipped_assignments

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "assignments").iterdir() if (p / "assignment.toml").is_file())
# The scaffold of `gradgrader new-assignment` (a least-squares example no course grades)
# is the one reference.py a student install may hold.
TEMPLATE = "gradgrader/templates/"
ANSWER_FILE = re.compile(r"(^|/)(reference(_[^/]*)?\.py|hooks\.py)$")


def answer_lines() -> set[str]:
    """Distinctive code lines of every shipped reference and hooks file (the answer key)."""
    lines = set()
    for path in (ROOT / "assignments").glob("*/*.py"):
        if not ANSWER_FILE.search(path.name):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.strip()
            if len(code) >= 30 and not code.startswith(("#", '"', "'", "def ", "from ", "import ")) and ("=" in code or "return" in code):
                try:
                    compile(code, path.name, "exec")  # code, not a formula in a docstring
                except SyntaxError:
                    continue
                lines.add(code)
    # minus what the course gives students anyway (starters, helper modules)
    public = {line.strip() for path in (ROOT / "assignments").glob("*/**/*.py")
              if not ANSWER_FILE.search(path.name) and "samples" not in path.parts
              for line in path.read_text(encoding="utf-8").splitlines()}
    return lines - public


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel and the source distribution, built by hatchling as `pip` would."""
    builders = pytest.importorskip("hatchling.builders.wheel"), pytest.importorskip("hatchling.builders.sdist")
    out = tmp_path_factory.mktemp("dist")
    [wheel] = builders[0].WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    [sdist] = builders[1].SdistBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    return Path(wheel), Path(sdist)


def contents(archive: Path) -> dict[str, bytes]:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
    with tarfile.open(archive) as t:
        return {m.name.split("/", 1)[1]: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_no_answer_key_is_shipped(built: tuple[Path, Path], kind: str) -> None:
    files = contents(built[0] if kind == "wheel" else built[1])
    named = [n for n in files if ANSWER_FILE.search(n) and not n.startswith(TEMPLATE)]
    assert not named, named
    assert not [n for n in files if "/samples/" in n and not n.startswith(TEMPLATE)]
    assert not [n for n in files if n.startswith(("assignments/", "rubrics/", "gradgrader/_data/assignments", "gradgrader/_data/rubrics"))]
    keys = answer_lines()
    assert len(keys) > 50  # the references and hooks of the five assignments
    for name, data in files.items():
        engine = name.startswith("gradgrader/") and name.endswith(".py") and not name.startswith("gradgrader/_data/")
        if name.endswith(".npz") or name.startswith(TEMPLATE) or engine:  # the engine's code shares idioms only
            continue
        text = data.decode("utf-8", "replace")
        leaked = [line for line in keys if line in text]
        assert not leaked, (name, leaked[:3])


def test_the_wheel_ships_a_pack_of_every_assignment(built: tuple[Path, Path]) -> None:
    files = contents(built[0])
    for name in ASSIGNMENTS:
        base = f"gradgrader/_data/packs/{name}/"
        for part in ("assignment.toml", "expected.json", "expected.npz", "pack.json", "rubric.toml", "starter.py"):
            assert base + part in files, base + part


# The reference and the course's generators call BLAS and LAPACK (a QR makes the SPD
# covariances), whose kernels round differently from one CPU to another: the same
# assignment recorded on two machines differs in the last bits. Observed between two
# machines of this project: 5e-16 on covariances of scale 1.8, 3.6e-15 on log-likelihoods
# of scale 30, 9e-17 on responsibilities (≲ 2e-15 of each array's largest entry). A
# stale pack — a changed reference, case, generator, hook or seed — differs by the size
# of that change, orders of magnitude above 1e-10 of the array's scale.
RECORDING_RTOL = 1e-10


def test_the_committed_packs_are_those_of_the_assignments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """packs/ is made from assignments/ by `gradgrader pack NAME --out packs/NAME --replace`;
    an assignment changed without its pack fails here, on any machine."""
    import gradgrader.checks.prepared as prepared
    from gradgrader.assignment import load_assignment

    generate = prepared.case_inputs
    for name in ASSIGNMENTS:
        fresh = make_pack(name, tmp_path / name)
        shipped = ROOT / "packs" / name
        assert is_pack(shipped), f"no pack of {name}: run gradgrader pack {name} --out packs/{name}"
        stale = f"packs/{name} is stale: run gradgrader pack {name} --out packs/{name} --replace"
        # The recording (expected.json + .npz) is compared by value below, the rest byte for byte.
        recorded = {"expected.json", "expected.npz"}
        texts = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file() and p.name not in recorded)
        assert texts == sorted(p.relative_to(shipped) for p in shipped.rglob("*")
                               if p.is_file() and p.name not in recorded and "__pycache__" not in p.parts), stale
        for rel in texts:
            assert (fresh / rel).read_bytes() == (shipped / rel).read_bytes(), (stale, str(rel))
        old = load_table(shipped)
        # The inputs are keyed by function and case: the same keys, the same values.
        new_inputs = {k: v for k, v in load_table(fresh).items() if k.startswith("inputs:")}
        assert new_inputs.keys() == {k for k in old if k.startswith("inputs:")}, stale
        for key in new_inputs:
            assert close(new_inputs[key], old[key]), (stale, key)
        # Everything else is keyed by the exact bits of its arguments, which come from
        # the inputs: recorded again from the shipped inputs, as a student's machine
        # replays them, it must hold the same keys and the same values.
        seed = load_assignment(name).seed

        def shipped_inputs(assignment: Any, function: str, case: str, seed: int = seed, old: dict = old) -> Any:
            key = f"inputs:{function}:{case}" + ("" if assignment.seed == seed else ":redrawn")
            return old[key] if key in old else generate(assignment, function, case)  # a case no pack ships

        with monkeypatch.context() as m:
            m.setattr(prepared, "case_inputs", shipped_inputs)
            again = load_table(make_pack(name, tmp_path / "again" / name))
        assert again.keys() == old.keys(), stale
        for key in again:
            assert close(again[key], old[key]), (stale, key)


def test_a_stale_recording_is_told_from_another_machines_rounding() -> None:
    """RECORDING_RTOL lets a CPU's rounding through and nothing a course would change."""
    x = np.random.default_rng(0).standard_normal((4, 5)) * 30.0
    assert close(x + np.spacing(x) * 8, x) and close({"a": x}, {"a": x * (1 + 4e-16)})
    assert not close(x * (1 + 1e-8), x)  # e.g. a coefficient changed in its eighth digit
    assert not close(x.astype(np.float32), x) and not close(x[:3], x) and not close({"a": x}, {"b": x})
    assert close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) and not close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    assert close(np.array([np.inf, -np.inf, 2.0]), np.array([np.inf, -np.inf, 2.0]))
    assert not close(np.array([np.inf, 2.0]), np.array([-np.inf, 2.0])) and not close(np.array([np.inf]), np.array([1e308]))
    assert not close(np.arange(3), np.arange(3) + 1)  # integers (labels) exactly


def close(a: object, b: object) -> bool:
    """Recorded values equal up to :data:`RECORDING_RTOL` of each array's largest finite
    entry (NaN where NaN, the same infinities: a reference's answer on a case it is
    undefined on; integers exactly), through named outputs and course objects."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if hasattr(a, "fields") and hasattr(b, "fields"):
        return a.factory == b.factory and close(dict(a.fields), dict(b.fields))  # type: ignore[attr-defined]
    x, y = np.asarray(a), np.asarray(b)
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    if not np.issubdtype(x.dtype, np.floating):
        return x.tobytes() == y.tobytes()
    odd = ~np.isfinite(y)  # NaN and infinities: the same, where the same
    if not (np.array_equal(odd, ~np.isfinite(x)) and np.array_equal(x[odd], y[odd], equal_nan=True)):
        return False
    x, y = x[~odd], y[~odd]
    scale = float(np.max(np.abs(y))) if y.size else 0.0
    return bool(np.all(np.abs(x - y) <= RECORDING_RTOL * scale))


def test_a_checkout_grades_with_the_full_assignment_and_packs_stand_in_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = shipped_assignments()
    for name in ASSIGNMENTS:
        assert found[name] == ROOT / "assignments" / name  # the checkout's full one, not packs/
    # A GRADGRADER_HOME with only a pack of a new name: that name resolves to the pack.
    make_pack("gmm", tmp_path / "home" / "packs" / "gmm-only")
    monkeypatch.setenv("GRADGRADER_HOME", str(tmp_path / "home"))
    found = shipped_assignments()
    assert found["gmm-only"] == tmp_path / "home" / "packs" / "gmm-only"
    assert found["gmm"] == ROOT / "assignments" / "gmm"  # a full assignment wins over any pack


def test_check_in_a_student_install_runs_from_the_pack(built: tuple[Path, Path], tmp_path: Path) -> None:
    """The wheel installed on its own (no checkout on the path): `check --assignment softmax`
    finds the pack, grades the public cases, and says what only the course grades."""
    site = tmp_path / "site"
    with zipfile.ZipFile(built[0]) as z:
        z.extractall(site)  # what pip install puts in site-packages (a pure-Python wheel)
    sample = tmp_path / "softmax.py"
    sample.write_text((ROOT / "assignments" / "softmax" / "samples" / "sign-flipped" / "softmax.py").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if k not in {"GRADGRADER_HOME", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(site)
    code = ("import sys, gradgrader.spec as s; assert s.__file__.startswith(sys.argv[1]), s.__file__; "
            "print(s.shipped_assignments()['softmax'])")
    where = subprocess.run([sys.executable, "-c", code, str(site)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == site / "gradgrader" / "_data" / "packs" / "softmax"
    checked = subprocess.run([sys.executable, "-m", "gradgrader", "check", str(sample), "--assignment", "softmax"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1, checked.stderr  # not full marks: the sign is flipped
    assert "sign-flipped" in checked.stdout and "graded out of 9.5 here, out of 10 by the course" in checked.stdout
    assert not list(site.rglob("reference*.py")) or all(TEMPLATE in p.as_posix() for p in site.rglob("reference*.py"))


def test_every_committed_pack_gives_the_shipped_correct_samples_full_marks(tmp_path: Path) -> None:
    """A pack recorded on one machine is replayed on a student's: every value its checks
    look up must be found there (the points of the finite differences come out of the
    recorded inputs bit for bit), or correct code loses points to a grader error — as the
    gmm pack's log det and quadratic form did on a machine with another BLAS."""
    from gradgrader.assignment import load_assignment
    from gradgrader.grading import Grader
    from gradgrader.ingest import discover
    from gradgrader.rubric import resolve_rubric

    for name in ASSIGNMENTS:
        samples = ROOT / "assignments" / name / "samples"
        expected = tomllib.loads((samples / "EXPECTED.toml").read_text(encoding="utf-8"))
        correct = sorted(sid for sid, want in expected.items() if want.get("full_marks"))
        assert correct, name
        cls = tmp_path / name
        cls.mkdir()
        for sid in correct:  # a folder, or one file named after the submission
            if (samples / sid).is_dir():
                shutil.copytree(samples / sid, cls / sid)
            else:
                shutil.copyfile(samples / f"{sid}.py", cls / f"{sid}.py")
        spec = load_assignment(ROOT / "packs" / name)
        with Grader(spec, resolve_rubric(spec), jobs=2) as grader:
            results = [r.to_json() for r in grader.grade_all(discover(cls, spec.filename))]
        assert len(results) == len(correct)
        for r in results:
            wrong = [(c["id"], c["message"]) for c in r["checks"] if c["score"] != c["max_score"]]
            assert r["score"] == r["max_score"] and not wrong, (name, r["submission"], wrong)
