"""Shared fixtures: the softmax course material, its sample class graded once, and
helpers to make broken or fast copies of an assignment in a temporary folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from gradgrader.cli import one_blas_thread

# In-process grading as the command grades: one BLAS thread, set before numpy loads
# (the next import loads it). Idle BLAS threads spin and slow the sandboxed processes.
one_blas_thread()

from gradgrader.assignment import load_assignment
from gradgrader.grading import Grader
from gradgrader.ingest import Submission, discover
from gradgrader.results import CheckRecord, Result, dumps
from gradgrader.rubric import Rubric, resolve_rubric
from gradgrader.sandbox import ChildLimits, Sandbox, Session
from gradgrader.sandbox.layers import Isolation, Layer, probe
from gradgrader.spec import Assignment

# Course grading mixes a secret into its inputs (issue 16); a fixed one here keeps every
# `grade` of the suite reproducible (tests of the secret itself unset or replace it).
os.environ.setdefault("GRADGRADER_SECRET", "gradgrader-test-suite")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SOFTMAX = ROOT / "assignments" / "softmax"
SAMPLES = SOFTMAX / "samples"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (SAMPLES / "EXPECTED.toml").read_text(encoding="utf-8")
)
REFERENCE_SOURCE = (SOFTMAX / "reference.py").read_text(encoding="utf-8")

FUNCTIONS = (
    "logsumexp",
    "softmax",
    "softmax_jacobian",
    "log_partition_grad",
    "log_likelihood_grad",
    "softmax_loss",
)


def from_reference(extra: str = "") -> str:
    """A submission made of the reference's six functions, then ``extra`` (which may
    redefine some of them). The reference runs in a namespace of its own (``_ref``), so
    its functions keep calling the right helpers whatever ``extra`` redefines."""
    lines = ["_ref = {}", f"exec({REFERENCE_SOURCE!r}, _ref)"]
    lines += [f"{name} = _ref[{name!r}]" for name in FUNCTIONS]
    return "\n".join(lines) + "\n\n" + extra


# A test-local submission that fails the value and property checks of logsumexp and
# softmax, whatever the samples cover (see test_assignments_softmax.py): logsumexp off by
# 0.5, softmax neither normalised nor shift-invariant; the other four functions are
# the reference's.
PROBE_ID = "probe-softmax-wrong"
PROBE_SOURCE = from_reference(
    """
def logsumexp(z):
    return _ref["logsumexp"](z) + 0.5


def softmax(Z):
    return _ref["softmax"](Z) + 0.01 * Z
"""
)


def sample_path(sample_id: str) -> Path:
    """The file or folder of a sample submission, by its id."""
    folder = SAMPLES / sample_id
    return folder if folder.is_dir() else SAMPLES / f"{sample_id}.py"


# OpenBLAS's float32 kernels can leave the FPU's "invalid" flag set from lanes they do not
# use (numpy/numpy#24067, OpenMathLib/OpenBLAS#1924): numpy then warns, at random, in the
# student's own process — seen once in CI from correct-float32's `T @ theta`. That warning
# in the submission's output is the machine's, not gradgrader's, and differs run to run.
_SPURIOUS_MATMUL = re.compile(r"[^\n]*RuntimeWarning: invalid value encountered in matmul\n(?:  [^\n]*\n)?")


def comparable(result: Result | Mapping[str, Any]) -> dict[str, Any]:
    """A result's JSON without what may differ between runs: its time, and a BLAS
    kernel's spurious floating-point warning in the submission's output."""
    obj = json.loads(dumps(result)) if isinstance(result, Result) else dict(result)
    obj.pop("elapsed_s", None)
    if isinstance(obj.get("output"), str):
        # A result's JSON has no "output" when nothing was printed: drop it too when the
        # spurious warning was all there was (CI run of 2026-12-05: '' against absent).
        output = _SPURIOUS_MATMUL.sub("", obj["output"])
        if output:
            obj["output"] = output
        else:
            del obj["output"]
    return obj


def copy_assignment(
    dest: Path, replacements: Mapping[str, str] = {}, append: str = "", source: Path = SOFTMAX
) -> Path:
    """Copy an assignment folder (without its samples) to ``dest`` and edit its TOML text:
    replace the first occurrence of each key by its value, then append ``append``.

    Each replacement must match: a test that edits nothing by mistake would pass vacuously."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("samples", "__pycache__"))
    toml = dest / "assignment.toml"
    text = toml.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, f"{old!r} is not in {toml}"
        text = text.replace(old, new, 1)
    toml.write_text(text + append, encoding="utf-8")
    return dest


def isolation(*off: str) -> Isolation:
    """This machine's sandbox layers with ``off`` turned off (like GRADGRADER_DISABLE)."""
    return Isolation(
        tuple(
            Layer(layer.name, False, "turned off by the test") if layer.name in off else layer
            for layer in probe().layers
        )
    )


def write_submission(folder: Path, source: str, name: str = "softmax.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def softmax() -> Assignment:
    return load_assignment("softmax")


@pytest.fixture(scope="session")
def softmax_rubric(softmax: Assignment) -> Rubric:
    return resolve_rubric(softmax)


@pytest.fixture(scope="session")
def graded_class(
    softmax: Assignment, softmax_rubric: Rubric, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Result]:
    """Every sample, the reference and the probe, graded once with two jobs, by id."""
    probe = write_submission(tmp_path_factory.mktemp("probe"), PROBE_SOURCE)
    submissions = [
        *discover(SAMPLES, softmax.filename),
        Submission("reference", SOFTMAX / "reference.py", None),
        Submission(PROBE_ID, probe, None),
    ]
    with Grader(softmax, softmax_rubric, jobs=2) as grader:
        results = {r.submission: r for r in grader.grade_all(submissions)}
    assert len(results) == len(submissions)
    return results


@pytest.fixture(scope="session")
def graded_samples(graded_class: dict[str, Result]) -> dict[str, Result]:
    """The sample class only (EXPECTED.toml's ids)."""
    return {k: v for k, v in graded_class.items() if k not in {"reference", PROBE_ID}}


# --- shared by tests that run the command line on the softmax samples ---------------------------

CORRECT = (SOFTMAX / "samples" / "correct-vectorized" / "softmax.py").read_text()
SOFTMAX_SAMPLES = Path(__file__).resolve().parents[1] / "assignments" / "softmax" / "samples"


def _check_json(path: Path, *args: str) -> dict:
    import json

    from gradgrader.cli import app

    result = CliRunner().invoke(app, ["check", str(path), "--json", *args])
    return json.loads(result.stdout)


runner = CliRunner()


# --- a starter whose functions are all stubs (render, feedback file, review, check) --------------

def _stub_check(fn: str, cid: str, max_score: float, feedback: str = "") -> dict:
    return {
        "id": f"{fn}.{cid}", "function": fn, "passed": False, "score": 0.0, "max_score": max_score,
        "message": f"{fn} is not implemented yet (it raises NotImplementedError)",
        "mistakes": ["not-implemented"],
        "diagnosis": {"mistake": "not-implemented", "title": "Not implemented",
                      "explanation": "It still raises NotImplementedError.",
                      "next_step": "Implement it from the formula in the starter."},
        **({"feedback": feedback} if feedback else {}),
    }


def _result(checks: list[dict]) -> dict:
    return {
        "submission": "alice", "path": "softmax.py", "assignment": "softmax", "status": "graded",
        "score": sum(c["score"] for c in checks), "max_score": sum(c["max_score"] for c in checks),
        "checks": checks, "mistakes": sorted({m for c in checks for m in c["mistakes"]}),
    }


def _text(renderable, width: int = 200) -> str:
    console = Console(width=width, record=True, highlight=False)
    console.print(renderable)
    return console.export_text()


STARTER = _result(
    [_stub_check("softmax_loss", c, 1.0, feedback="Office hours on Tuesday.") for c in ("loss", "gradient", "stable", "hidden")]
    + [_stub_check("softmax", c, 0.5) for c in ("value", "stable")]
)


# --- an objective course; a result with advice; what an import loads -----------------------------

LOGISTIC_FD = ROOT / "tests" / "assignments" / "logistic-fd"  # an objective_gradient course (loss, grad)


ADVICE = "softmax_loss's loss has 1 NaN/inf entry on case 'wide' — log-softmax avoids it"


def result_with_advice() -> Result:
    checks = (
        CheckRecord("softmax_loss.loss", "softmax_loss", True, 1.0, 1.0, "matches the reference on 4 cases", kind="compare"),
        CheckRecord("softmax_loss.stable", "softmax_loss", True, 0.25, 0.25, "finite and correct on extreme inputs on 1 case",
                    kind="stability", advice=(ADVICE,)),
    )
    return Result("ada", "ada/softmax.py", "softmax", "graded", 1.25, 1.25, checks, (), 0.1)


def text_of(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def imported_after(modules: list[str]) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


# --- the sandbox against hostile submissions (tests/attacks/), for tests/test_sandbox_*.py -------

ATTACKS = Path(__file__).resolve().parent / "attacks"
MEMORY_MB = 512


def attack(name: str, folder: Path, **subs: str) -> Path:
    """The attack's softmax.py, placeholders substituted, written under ``folder``."""
    text = (ATTACKS / name / "softmax.py").read_text(encoding="utf-8")
    for key, value in subs.items():
        text = text.replace(f"@@{key}@@", value)
    return write_submission(folder, text)


def module(folder: Path, source: str, name: str = "probe.py") -> Path:
    return write_submission(folder, textwrap.dedent(source), name)


@pytest.fixture(scope="module")
def fast_softmax(tmp_path_factory):
    folder = copy_assignment(
        tmp_path_factory.mktemp("assignment") / "softmax",
        {"budget = 120.0": "budget = 30.0", "memory_mb = 1024": f"memory_mb = {MEMORY_MB}"},
    )
    return load_assignment(folder)


@pytest.fixture(scope="module")
def grader(fast_softmax):
    with Grader(fast_softmax, resolve_rubric(fast_softmax)) as g:
        yield g


def assert_only_attacked_fail(result, attacked: set[str], mistakes: set[str]) -> None:
    assert result.status == "graded", result.message
    for check in result.checks:
        if check.function in attacked:
            assert not check.passed and check.score == 0, check.message
            assert set(check.mistakes) & mistakes, (check.id, check.mistakes, check.message)
        else:
            assert check.passed, (check.id, check.message)


def limited_session(box: Sandbox, path: Path, **kw) -> Session:
    return Session(box, path, path.stem, [], ChildLimits(memory_mb=MEMORY_MB), budget=60, **kw)


LANDLOCK = probe().has("landlock")
STANDARD = ("namespaces",)  # Landlock + seccomp + rlimits, without bubblewrap


GOOD = "def softmax(Z):\n    return Z\n"


def student(root: Path, name: str, source: str = GOOD, filename: str = "softmax.py") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / filename).write_text(source, encoding="utf-8")
    return folder


def by_id(subs: list[Submission]) -> dict[str, Submission]:
    return {s.id: s for s in subs}


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def load_by_path(path: Path, name: str) -> ModuleType:
    """A sandbox file loaded by path, as the zygote loads its siblings (never imported
    as part of gradgrader), under ``name``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expect_verdict(result: Any, want: dict[str, Any], aspect: str) -> None:
    """One aspect of a shipped sample's expected verdict (its EXPECTED.toml entry
    ``want``) against its graded ``result``: ``full_marks``, ``failing_functions``,
    ``mistakes``, ``advice`` (never scored, so at full points), or ``earns_nothing``
    (the expected ``score``, and no points from the ``unpaid`` checks)."""
    failing = {c.id: set(c.mistakes) for c in result.checks if not c.passed}
    if aspect == "full_marks":
        assert result.full_marks == want["full_marks"], (result.score, result.max_score, failing)
    elif aspect == "failing_functions":
        assert {c.function for c in result.checks if not c.passed} == set(want["failing_functions"]), failing
    elif aspect == "mistakes":
        assert set(result.mistakes) == set(want["mistakes"]), failing
    elif aspect == "advice":
        assert set(result.advice) == set(want.get("advice", [])), {c.id: c.advice for c in result.checks if c.advice}
        for c in result.checks:
            if c.advice:
                assert c.passed and c.score == c.max_score and c.mistakes == (), c
    elif aspect == "earns_nothing":
        if "score" in want:
            assert result.score == pytest.approx(want["score"]), {c.id: c.score for c in result.checks if c.score}
        for cid in want.get("unpaid", []):
            unpaid = next(c for c in result.checks if c.id == cid)
            assert unpaid.score == 0.0, unpaid
    else:
        raise ValueError(f"no such aspect of a verdict: {aspect}")


def make_zip(path: Path, entries: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    """A zip at ``path`` of ``entries`` (name → bytes) and symbolic ``links`` (name →
    target, stored as a Unix symlink entry)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return path
