"""The sandbox against hostile replies, other processes and odd submissions (issue 16), and
the course's environment inside it (issue 15, point 3).

Attacks live in ``tests/attacks/<name>/softmax.py`` (also graded in the batch of
tests/test_sandbox_attacks.py); here each one is run through a Session or a Grader directly, so
that the exact refusal can be checked, and quickly. The "standard" level (Landlock +
seccomp + rlimits, no bubblewrap) is forced with ``isolation("namespaces")``.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, copy_assignment, isolation, write_submission

from gradgrader.assignment import load_assignment
from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.results import dumps
from gradgrader.rubric import resolve_rubric
from gradgrader.sandbox import ChildLimits, Returned, Sandbox, Session, staging
from gradgrader.sandbox import session as session_module
from gradgrader.sandbox.decode import DecodeError, decode_array
from gradgrader.sandbox.environment import MissingPackageError, course_environment
from gradgrader.sandbox.layers import probe
from gradgrader.sandbox.runner import Problem, SandboxFailure, sanitize

ATTACKS = Path(__file__).resolve().parent / "attacks"
MIT = ROOT / "assignments" / "mit686x-em"
MEMORY_MB = 512
LANDLOCK = probe().has("landlock")
SECCOMP = probe().has("seccomp")
STANDARD = ("namespaces",)  # Landlock + seccomp + rlimits, without bubblewrap
needs_landlock = pytest.mark.skipif(not LANDLOCK, reason="the kernel has no Landlock")
needs_standard = pytest.mark.skipif(not (LANDLOCK and SECCOMP), reason="needs Landlock and seccomp")


def attack(name: str, folder: Path, **subs: str) -> Path:
    """The attack's softmax.py, placeholders substituted, written under ``folder``."""
    text = (ATTACKS / name / "softmax.py").read_text(encoding="utf-8")
    for key, value in subs.items():
        text = text.replace(f"@@{key}@@", value)
    return write_submission(folder, text)


def module(folder: Path, source: str, name: str = "probe.py") -> Path:
    return write_submission(folder, textwrap.dedent(source), name)


def session(box: Sandbox, path: Path, **kw) -> Session:
    return Session(box, path, path.stem, [], ChildLimits(memory_mb=MEMORY_MB), budget=60, **kw)


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


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


# ----------------------------------------------------------------- hostile replies


def _npy(header: str, body: bytes) -> bytes:
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + body


def test_a_header_whose_literal_eval_raises_typeerror_is_a_decode_error():
    data = _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), []: 0}", b"\0" * 8)
    with pytest.raises(DecodeError, match="unreadable"):
        decode_array(data)


def test_forged_header_raising_typeerror_costs_only_the_attacked_function(grader, tmp_path):
    result = grader.grade(Submission("typeerror", attack("forged-npy-typeerror", tmp_path / "s"), None))
    assert_only_attacked_fail(result, {"softmax_jacobian"}, {"wrong-shape"})


def test_a_flood_of_bool_arrays_is_refused_before_it_is_decoded(tmp_path):
    path = attack("wire-bool-flood", tmp_path / "s")
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        got = s.call("softmax_jacobian", [np.zeros(3)], ["J"], 10.0)
        assert isinstance(got, Returned), got
        assert got.values == (None,)
        problem = got.problems[0]
        assert problem is not None and problem.kind == "wrong-type"
        # refused by the decoded cap: the per-array byte cap counted in float64 elements
        # (16 MiB of bools used to pass, as 16 Mi elements, and decode to 128 MiB)
        assert str(ChildLimits().max_output_bytes // 8) in problem.message


def test_outputs_not_asked_for_are_refused_undecoded(tmp_path):
    path = attack("wire-unrequested", tmp_path / "s")
    args = [np.ones((3, 4)), np.ones((5, 4)), np.zeros(5, dtype=np.int64), 0.1]
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        only_loss = s.call_many("softmax_loss", [args], ["loss", "dW"], 10.0, want=["loss"])[0]
        assert isinstance(only_loss, Problem) and "not asked for" in only_loss.message
    with Sandbox(tmp_path / "box2") as box, session(box, path) as s:
        # every output asked for, but one more array than the outputs name
        both = s.call("softmax_loss", args, ["loss", "dW"], 10.0)
        assert isinstance(both, Problem) and "not asked for" in both.message


def test_the_call_memo_is_bounded_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "MEMO_BYTES", 1 << 20)
    path = module(tmp_path / "s", """
        import numpy as np
        def big(x):
            return np.full(1 << 15, float(x[0]))  # 256 KiB
    """)
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        for i in range(12):
            got = s.call("big", [np.array([float(i)])], ["v"], 10.0)
            assert isinstance(got, Returned) and got.values[0][0] == i
        assert s._memo_bytes <= 1 << 20
        assert len(s._memo) < 12
        calls = s.calls
        again = s.call("big", [np.array([0.0])], ["v"], 10.0)  # evicted: run again, same answer
        assert isinstance(again, Returned) and again.values[0][0] == 0.0 and s.calls == calls + 1


def test_decoded_bytes_are_capped_per_submission(tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "SUBMISSION_DECODE_CAP", 1 << 20)
    path = module(tmp_path / "s", """
        import numpy as np
        def big(x):
            return np.full(1 << 15, float(x[0]))  # 256 KiB decoded
    """)
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        got = [s.call("big", [np.array([float(i)])], ["v"], 10.0) for i in range(6)]
    assert all(isinstance(g, Returned) and g.values[0] is not None for g in got[:4])
    for g in got[4:]:
        assert isinstance(g, Returned) and g.values[0] is None
        assert g.problems[0] is not None and g.problems[0].kind in {"too-large", "wrong-type"}


# ----------------------------------------------------------------- text that is not UTF-8


def test_sanitize_makes_lone_surrogates_valid_utf8():
    text = sanitize("bad \udcff byte \ud800\x1b[2J")
    text.encode("utf-8")
    assert "\ufffd" in text and "\x1b" not in text


def test_an_exception_with_lone_surrogates_is_stored_as_valid_utf8(grader, tmp_path):
    result = grader.grade(Submission("surrogate", attack("lone-surrogate", tmp_path / "s"), None))
    assert_only_attacked_fail(result, {"softmax_jacobian"}, {"crashed"})
    line = dumps(result)
    line.encode("utf-8")  # the results writer's encoding
    for text in strings(json.loads(line)):
        text.encode("utf-8")
    jac = next(c for c in result.checks if c.function == "softmax_jacobian")
    assert "bad byte \ufffd" in jac.message


# ----------------------------------------------------------------- other processes


@pytest.fixture
def victim():
    """Another process of the grader's user (a sibling's stand-in)."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _report(s: Session) -> dict:
    line = next(x for x in s.output().splitlines() if x.startswith("GGATK-REPORT "))
    return json.loads(line.split(" ", 1)[1])


@needs_standard
@pytest.mark.parametrize("off", [STANDARD, ()], ids=["standard", "strong"])
def test_a_child_cannot_relimit_signal_or_outrank_other_processes(tmp_path, victim, off):
    before = resource.prlimit(victim, resource.RLIMIT_NOFILE)
    path = attack("other-processes", tmp_path / "s", GRADER_PID=str(victim))
    with Sandbox(tmp_path / "box", isolation(*off)) as box:
        with session(box, path) as s:
            got = s.call("softmax_jacobian", [np.zeros(3)], ["J"], 10.0)
        report = _report(s)
    assert isinstance(got, Problem) and "refused" in got.message, sorted(k for k, v in report.items() if v)
    assert report and not any(report.values()), report
    assert resource.prlimit(victim, resource.RLIMIT_NOFILE) == before


def test_capabilities_are_dropped_and_no_new_privs_set_at_every_level(tmp_path):
    """Even with every layer off (process + rlimits only), as root or not."""
    path = module(tmp_path / "s", """
        def status(x):
            with open("/proc/self/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            raise ValueError(repr({k: fields[k].strip() for k in fields if k.startswith("Cap") or k == "NoNewPrivs"}))
    """)
    with Sandbox(tmp_path / "box", isolation("namespaces", "landlock", "seccomp")) as box, session(box, path) as s:
        got = s.call("status", [np.zeros(1)], ["v"], 10.0)
    assert isinstance(got, Problem) and got.exc_type == "ValueError"
    fields = eval(got.message)  # noqa: S307 - our own repr of a dict of strings
    assert {k: v for k, v in fields.items() if k.startswith("Cap")} == dict.fromkeys(
        ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"), "0000000000000000"
    )
    assert fields["NoNewPrivs"] == "1"


# ----------------------------------------------------------------- the grader's own failures


BROKEN = "not a number"  # fsize_mb that makes the child's own set-up raise (exit status 70)


def test_a_zygote_child_that_fails_its_own_setup_is_retried(tmp_path, monkeypatch):
    real = Sandbox._start_once
    seen = []

    def flaky(self, staged, module_name, functions, limits, *rest):
        seen.append(limits)
        if len(seen) == 1:
            limits = dataclasses.replace(limits, fsize_mb=BROKEN)
        return real(self, staged, module_name, functions, limits, *rest)

    monkeypatch.setattr(Sandbox, "_start_once", flaky)
    path = module(tmp_path / "s", "def f(x):\n    return 1.0\n")
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        assert s.load.ok
        assert isinstance(s.call("f", [np.zeros(1)], ["v"], 10.0), Returned)
    assert len(seen) == 2


def test_a_zygote_that_dies_is_replaced_once(tmp_path, monkeypatch):
    from gradgrader.sandbox.runner import Zygote

    real = Zygote.spawn
    seen = []

    def dying(self, request):
        seen.append(1)
        if len(seen) == 1:
            self.close()  # the zygote is gone: the spawn fails
        return real(self, request)

    monkeypatch.setattr(Zygote, "spawn", dying)
    path = module(tmp_path / "s", "def f(x):\n    return 1.0\n")
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        assert s.load.ok
    assert len(seen) == 2


def test_a_zygote_child_that_fails_twice_is_the_graders_error_not_the_students(tmp_path):
    path = module(tmp_path / "s", "def f(x):\n    return 1.0\n")
    limits = ChildLimits(memory_mb=MEMORY_MB, fsize_mb=BROKEN)  # type: ignore[arg-type]
    with Sandbox(tmp_path / "box") as box, pytest.raises(SandboxFailure) as caught:
        Session(box, path, "probe", [], limits, budget=60)
    message = str(caught.value)
    assert "twice" in message and "exit status 70" in message
    assert "exit() or os._exit()" not in message


def test_a_student_exiting_with_status_70_is_still_the_students(tmp_path):
    path = module(tmp_path / "s", "import os\nos._exit(70)\n")
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        assert not s.load.ok and s.load.problem is not None
        assert "70" in s.load.problem.message


def test_the_address_space_limit_is_the_measured_baseline_plus_memory_mb(tmp_path):
    path = module(tmp_path / "s", """
        import resource
        def limit(x):
            return float(resource.getrlimit(resource.RLIMIT_AS)[0])
    """)
    with Sandbox(tmp_path / "box") as box, session(box, path) as s:
        got = s.call("limit", [np.zeros(1)], ["v"], 10.0)
        baseline = box.zygote.baseline_mb
    assert isinstance(got, Returned)
    if sys.platform.startswith("linux"):
        assert baseline > 0  # numpy alone is tens of MiB
    assert int(got.values[0]) == (baseline + MEMORY_MB) << 20


# ----------------------------------------------------------------- staging


def _count_copies(monkeypatch) -> list[Path]:
    copies: list[Path] = []
    real = staging._copy_regular

    def counted(src: Path, dest: Path) -> None:
        copies.append(src)
        real(src, dest)

    monkeypatch.setattr(staging, "_copy_regular", counted)
    return copies


def test_a_folder_is_staged_once_however_often_its_process_restarts(tmp_path, monkeypatch):
    folder = tmp_path / "student"
    for i in range(30):
        write_submission(folder / "data", "x", f"f{i}.txt")
    path = module(folder, """
        import os
        def die(x):
            os._exit(3)
        def die_too(x):
            os._exit(3)
        def ok(x):
            return 1.0
    """)
    copies = _count_copies(monkeypatch)
    with Sandbox(tmp_path / "box") as box, session(box, path, folder=folder) as s:
        for i, fn in enumerate(("die", "ok", "die_too", "ok")):
            s.call(fn, [np.array([float(i)])], ["v"], 10.0)
        assert s.restarts >= 2
    assert len(copies) == 31


def test_staging_copies_a_bounded_number_of_files(tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_FILES", 20)
    monkeypatch.setattr(staging, "STAGE_WALK", 200)
    folder = tmp_path / "student"
    (folder / "empty").mkdir(parents=True)
    for i in range(1000):
        (folder / "empty" / f"{i}").touch()
    path = module(folder, "def f(x):\n    return 1.0\n", "zz_probe.py")  # walked last
    copies = _count_copies(monkeypatch)
    with Sandbox(tmp_path / "box") as box, session(box, path, folder=folder) as s:
        assert s.load.ok  # the graded file is always copied
    assert copies[0] == path and len(copies) <= 20


# ----------------------------------------------------------------- the course's environment

SCIPY_EM = '''
import numpy as np
from scipy.stats import multivariate_normal
from common import GaussianMixture


def estep(X, mixture):
    n, d = X.shape
    log_f = np.column_stack([
        np.log(mixture.p[j]) + np.atleast_1d(multivariate_normal(mixture.mu[j], mixture.var[j] * np.eye(d)).logpdf(X))
        for j in range(len(mixture.p))
    ])
    m = log_f.max(axis=1, keepdims=True)
    total = m + np.log(np.exp(log_f - m).sum(axis=1, keepdims=True))
    return np.exp(log_f - total), float(total.sum())


def mstep(X, post):
    n, d = X.shape
    n_hat = post.sum(axis=0)
    mu = post.T @ X / n_hat[:, None]
    sq = ((X[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2)
    return GaussianMixture(mu, (post * sq).sum(axis=0) / (d * n_hat), n_hat / n)


def run(X, mixture, post):
    prev, ll = None, None
    while prev is None or ll - prev > 1e-6 * abs(ll):
        prev = ll
        post, ll = estep(X, mixture)
        mixture = mstep(X, post)
    return mixture, post, ll
'''


def grade_mit(assignment_folder: Path, tmp_path: Path):
    spec = load_assignment(assignment_folder)
    path = write_submission(tmp_path / "student", SCIPY_EM, "naive_em.py")
    with Grader(spec, resolve_rubric(spec)) as g:
        return g.grade(Submission("scipy-user", path, None))


def test_a_declared_package_is_importable_and_the_submission_grades(tmp_path):
    assert "scipy" in load_assignment(MIT).packages
    result = grade_mit(MIT, tmp_path)
    assert result.status == "graded" and result.full_marks, [c.message for c in result.checks if not c.passed]


def test_an_undeclared_package_gets_a_clear_import_message(tmp_path):
    folder = copy_assignment(tmp_path / "mit", {'packages = ["scipy"]': ""}, source=MIT)
    result = grade_mit(folder, tmp_path)
    assert result.status == "error" and result.score == 0
    assert "No module named 'scipy' in this course's environment" in result.message


@pytest.mark.parametrize("off", [(), STANDARD, ("namespaces", "landlock", "seccomp")], ids=["strong", "standard", "weak"])
@pytest.mark.parametrize("name", ["yaml", "rich"])
def test_an_installed_but_undeclared_package_is_not_importable(tmp_path, off, name):
    pytest.importorskip(name)
    path = module(tmp_path / "s", f"def f(x):\n    import {name}\n    return 1.0\n")
    with Sandbox(tmp_path / "box", isolation(*off)) as box, session(box, path, packages=("scipy",)) as s:
        got = s.call("f", [np.zeros(1)], ["v"], 10.0)
    assert isinstance(got, Problem) and got.exc_type == "ModuleNotFoundError"
    assert f"No module named '{name}' in this course's environment" in got.message


@needs_landlock
@pytest.mark.parametrize("off", [(), STANDARD], ids=["strong", "standard"])
def test_undeclared_files_are_unreadable_and_declared_ones_read_only(tmp_path, off):
    import scipy
    import yaml

    path = module(tmp_path / "s", f"""
        def read(x):
            with open({scipy.__file__!r}, "rb") as f:
                return float(len(f.read()) > 0)
        def write(x):
            open({scipy.__file__!r}, "ab").close()
            return 1.0
        def other(x):
            with open({yaml.__file__!r}, "rb") as f:
                return float(len(f.read()))
    """)
    with Sandbox(tmp_path / "box", isolation(*off)) as box, session(box, path, packages=("scipy",)) as s:
        read = s.call("read", [np.zeros(1)], ["v"], 10.0)
        write = s.call("write", [np.zeros(1)], ["v"], 10.0)
        other = s.call("other", [np.zeros(1)], ["v"], 10.0)
    assert isinstance(read, Returned) and read.values[0] == 1.0
    for got in (write, other):
        assert isinstance(got, Problem) and got.exc_type in {"PermissionError", "OSError"}, got


def test_only_the_declared_packages_and_their_dependencies_are_readable():
    import scipy

    env = course_environment(("scipy",), ())
    site = Path(scipy.__file__).parents[1]
    tops = {Path(p).name for p in env.read if Path(p).parent == site}
    assert "scipy" in tops and all(t.lower().startswith(("scipy", "numpy")) for t in tops), tops
    assert not any("gradgrader" in p for p in env.read)


def test_a_missing_package_stops_the_ta_with_exit_2(tmp_path):
    from typer.testing import CliRunner

    from gradgrader.cli import app

    folder = copy_assignment(tmp_path / "mit", {'packages = ["scipy"]': 'packages = ["gg_no_such_package"]'}, source=MIT)
    spec = load_assignment(folder)
    with pytest.raises(MissingPackageError, match="gg_no_such_package.*not installed"):
        Grader(spec, resolve_rubric(spec))
    run = CliRunner().invoke(app, ["validate", str(folder)])
    assert run.exit_code == 2
    assert "gg_no_such_package" in run.output and "pip install" in run.output


def test_plotting_imports_get_inert_stubs_unless_turned_off(tmp_path):
    path = module(tmp_path / "s", """
        import matplotlib.pyplot as plt
        import seaborn as sns
        def f(x):
            plt.figure(); plt.plot(x); sns.heatmap(x); plt.show()
            return float(x.sum())
    """)
    with Sandbox(tmp_path / "box") as box:
        with session(box, path, stubs=("matplotlib", "seaborn")) as s:
            got = s.call("f", [np.ones(3)], ["v"], 10.0)
            assert isinstance(got, Returned) and got.values[0] == 3.0
        if not any(Path(p, "matplotlib").exists() for p in sys.path):
            with session(box, path, stubs=()) as s:
                assert not s.load.ok and "matplotlib" in (s.load.problem.message if s.load.problem else "")


def test_every_assignment_gets_the_plotting_stubs_by_default_and_unknown_stubs_are_refused(tmp_path):
    assert set(load_assignment("softmax").stubs) == {"matplotlib", "seaborn"}
    folder = copy_assignment(tmp_path / "a", {'file = "softmax.py"': 'file = "softmax.py"\nstubs = ["bokeh"]'})
    with pytest.raises(ConfigError, match="bokeh"):
        load_assignment(folder)


@pytest.mark.parametrize("off", [(), ("namespaces", "landlock", "seccomp")], ids=["strong", "weak"])
def test_a_helper_module_beside_the_file_is_importable_in_a_folder(tmp_path, off):
    folder = tmp_path / "student"
    write_submission(folder, "def helper(x):\n    return 2.0 * float(x.sum())\n", "utils.py")
    path = module(folder, "from utils import helper\n\ndef f(x):\n    return helper(x)\n", "naive_em.py")
    with Sandbox(tmp_path / "box", isolation(*off)) as box, session(box, path, folder=folder) as s:
        got = s.call("f", [np.ones(2)], ["v"], 10.0)
    assert isinstance(got, Returned) and got.values[0] == 4.0


def test_doctor_lists_the_course_packages_and_fails_when_one_is_missing(monkeypatch):
    from typer.testing import CliRunner

    from gradgrader.cli import app
    from gradgrader.sandbox import environment

    run = CliRunner().invoke(app, ["doctor"])
    assert run.exit_code == 0, run.output
    assert "course packages of mit686x-em: scipy — installed" in run.output
    monkeypatch.setattr(environment, "missing_packages", lambda names: list(names))
    run = CliRunner().invoke(app, ["doctor"])
    assert run.exit_code == 2
    assert "course packages of mit686x-em: scipy — missing scipy (pip install scipy)" in run.output
