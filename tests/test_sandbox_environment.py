"""gradgrader/sandbox/environment.py: the packages a course declares, the stubs, what doctor
lists, and what a numpy-only course never pays for."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    LANDLOCK,
    ROOT,
    STANDARD,
    copy_assignment,
    isolation,
    limited_session,
    module,
    write_submission,
)

from gradgrader.assignment import load_assignment
from gradgrader.errors import ConfigError
from gradgrader.grading import Grader
from gradgrader.ingest import Submission
from gradgrader.rubric import resolve_rubric
from gradgrader.sandbox import Returned, Sandbox
from gradgrader.sandbox.environment import MissingPackageError, course_environment
from gradgrader.sandbox.runner import Problem


def test_a_numpy_only_course_never_lists_the_installed_distributions(monkeypatch) -> None:
    # Listing them costs ~50 ms of a single `check`; only declared packages need it.
    from gradgrader.sandbox import environment

    def refuse() -> dict:
        raise AssertionError("listed the installed distributions")

    monkeypatch.setattr(environment, "_providers", refuse)
    environment.course_environment.cache_clear()
    try:
        env = environment.course_environment((), ("matplotlib",))
        assert env.modules == () and env.stubs == ("matplotlib",)
    finally:
        environment.course_environment.cache_clear()


MIT = ROOT / "assignments" / "mit686x-em"


needs_landlock = pytest.mark.skipif(not LANDLOCK, reason="the kernel has no Landlock")


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
    with Sandbox(tmp_path / "box", isolation(*off)) as box, limited_session(box, path, packages=("scipy",)) as s:
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
    with Sandbox(tmp_path / "box", isolation(*off)) as box, limited_session(box, path, packages=("scipy",)) as s:
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
        with limited_session(box, path, stubs=("matplotlib", "seaborn")) as s:
            got = s.call("f", [np.ones(3)], ["v"], 10.0)
            assert isinstance(got, Returned) and got.values[0] == 3.0
        if not any(Path(p, "matplotlib").exists() for p in sys.path):
            with limited_session(box, path, stubs=()) as s:
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
    with Sandbox(tmp_path / "box", isolation(*off)) as box, limited_session(box, path, folder=folder) as s:
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
