"""gradgrader.sandbox.prestart: a student's `check` starts its zygote before importing
the grader (#17), and the grader adopts it only when it hides at least as much."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_assignment, from_reference, write_submission
from typer.testing import CliRunner

import gradgrader.cli._checkrun as checkrun
from gradgrader.assignment import load_assignment
from gradgrader.cli import app
from gradgrader.grading import Grader
from gradgrader.rubric import resolve_rubric
from gradgrader.sandbox.layers import Isolation, Layer, probe
from gradgrader.sandbox.prestart import Prestarted
from gradgrader.sandbox.staging import scratch_home
from gradgrader.spec.locate import course_folders, every_course_folder, shipped_assignments
from gradgrader.submission import Submission


def prestart(isolation: Isolation, hidden: list[Path]) -> Prestarted:
    """A zygote hiding ``hidden`` started in a new run folder without waiting for it, as
    a check's early start makes one (gradgrader/cli/_early.py)."""
    from gradgrader.sandbox.zygote import start_in_new_run

    run_dir, folder, held, zygote = start_in_new_run(isolation.has("namespaces"), hidden)
    return Prestarted(run_dir, folder, isolation, held, zygote)


def _gone(early: Prestarted) -> bool:
    return early.zygote.proc.poll() is not None


def test_covers_asks_for_every_hidden_folder_or_one_holding_it(tmp_path: Path) -> None:
    course, other = tmp_path / "course", tmp_path / "other"
    (course / "softmax").mkdir(parents=True)
    other.mkdir()
    iso = probe()
    early = prestart(iso, [course])
    try:
        assert early.covers(iso, [course]) and early.covers(iso, [course / "softmax"])
        assert not early.covers(iso, [course, other])
        weaker = Isolation(tuple(Layer(x.name, x.available and x.name != "seccomp", x.detail) for x in iso.layers))
        assert not early.covers(weaker, [course])
    finally:
        early.close()
    assert _gone(early) and not early.run_dir.exists()


def test_the_grader_grades_with_a_zygote_that_hides_what_its_own_would(tmp_path: Path) -> None:
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    early = prestart(probe(), course_folders(assignment.root))
    with Grader(assignment, resolve_rubric(assignment), jobs=1, prestarted=early) as grader:
        (box,) = grader._boxes.values()
        assert box._zygote is early.zygote
        result = grader.grade(Submission("honest", write_submission(tmp_path / "s", from_reference()), None))
        assert result.score == result.max_score
    assert _gone(early) and not early.run_dir.exists()


def test_the_grader_refuses_a_zygote_that_hides_less(tmp_path: Path) -> None:
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    early = prestart(probe(), [])  # the course's folders would be visible to a student
    with Grader(assignment, resolve_rubric(assignment), jobs=1, prestarted=early) as grader:
        (box,) = grader._boxes.values()
        assert box._zygote is not early.zygote and _gone(early)
        result = grader.grade(Submission("honest", write_submission(tmp_path / "s", from_reference()), None))
        assert result.score == result.max_score
    assert not early.run_dir.exists()


def test_check_adopts_its_early_zygote(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[Prestarted] = []
    adopted: list[object] = []
    real_early, real_sandbox = checkrun._early_sandbox, Grader._sandbox

    def early(assignment: str | None) -> Prestarted | None:
        got = real_early(assignment)
        started.extend([got] if got else [])
        return got

    def sandbox(self: Grader):  # noqa: ANN202
        box = real_sandbox(self)
        adopted.append(box._zygote)
        return box

    monkeypatch.setattr(checkrun, "_early_sandbox", early)
    monkeypatch.setattr(Grader, "_sandbox", sandbox)
    path = write_submission(tmp_path / "s", from_reference())
    result = CliRunner().invoke(app, ["check", str(path), "--assignment", "softmax", "--json"])
    assert result.exit_code == 0, result.output
    assert len(started) == 1 and adopted and all(z is started[0].zygote for z in adopted)
    assert _gone(started[0])


def test_a_check_that_stops_on_an_error_closes_its_early_zygote(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[Prestarted] = []
    real = checkrun._early_sandbox
    monkeypatch.setattr(checkrun, "_early_sandbox", lambda a: started.append(real(a)) or started[-1])
    result = CliRunner().invoke(app, ["check", str(tmp_path / "missing.py"), "--assignment", "softmax"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(started) == 1 and _gone(started[0]) and not started[0].run_dir.exists()


def test_an_unknown_assignment_starts_nothing_early() -> None:
    assert checkrun._early_sandbox("no-such-assignment") is None


def test_the_zygote_of_a_check_naming_no_assignment_covers_every_shipped_one() -> None:
    """Started before the assignment is detected, it hides every course folder: the
    grader adopts it for whichever shipped assignment the file turns out to be, as it
    would one started for that assignment (the same folders hidden, or folders holding
    them)."""
    early = prestart(probe(), every_course_folder())
    try:
        shipped = shipped_assignments()
        assert shipped
        for root in shipped.values():
            assert early.covers(early.isolation, [scratch_home(), *course_folders(root)]), root
        assert not early.covers(early.isolation, [Path.home()])  # not anything at all
    finally:
        early.close()


def test_starting_the_sandbox_early_imports_no_numpy() -> None:
    code = (
        "import sys, gradgrader.sandbox.prestart, gradgrader.sandbox.layers, gradgrader.spec.locate\n"
        "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('numpy.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert ast.literal_eval(out.strip()) == []


def test_a_folder_inside_the_worker_folder_counts_only_if_hidden_itself(tmp_path: Path) -> None:
    """bubblewrap binds the worker folder back writable after hiding its parents: a
    folder inside it stays visible unless it is hidden after the bind (review finding)."""
    iso = probe()
    early = prestart(iso, [])
    try:
        inside = early.folder / "secret"
        inside.mkdir()
        assert not early.covers(iso, [inside])
    finally:
        early.close()


def test_closing_a_zygote_twice_signals_nothing_the_second_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    early = prestart(probe(), [])
    early.close()
    killed: list[int] = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: killed.append(pid))
    early.zygote.close()  # its pid may belong to another process by now
    assert killed == []


def test_ctrl_c_before_the_first_result_exits_130_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[Prestarted] = []
    real = checkrun._early_sandbox
    monkeypatch.setattr(checkrun, "_early_sandbox", lambda a: started.append(real(a)) or started[-1])

    def interrupted(self: Grader, submission: Submission):  # noqa: ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(Grader, "grade", interrupted)
    path = write_submission(tmp_path / "s", from_reference())
    result = CliRunner().invoke(app, ["check", str(path), "--assignment", "softmax"])
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    assert _gone(started[0]) and not started[0].run_dir.exists()


def test_check_starts_no_sandbox_early_when_the_probe_would_start_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """First run on a machine, or bubblewrap failing here: the probe runs in a thread while
    the grader is imported (it is not waited for before the imports), and the grader
    starts its own sandbox."""
    import gradgrader.sandbox.bwrap as bwrap
    import gradgrader.sandbox.layers as layers
    import gradgrader.sandbox.zygote as zygote

    probed: list[bool] = []
    monkeypatch.setattr(bwrap, "probe_is_cheap", lambda: False)
    monkeypatch.setattr(layers, "probe", lambda: probed.append(True))
    monkeypatch.setattr(zygote, "start_in_new_run", lambda *a: pytest.fail("started a sandbox before the probe"))
    assert checkrun._early_sandbox("softmax") is None
    import threading

    for thread in threading.enumerate():
        if thread.name == "gradgrader-probe":
            thread.join(30)
    assert probed == [True]


def test_a_checks_zygote_starts_before_landlock_and_seccomp_are_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its command depends on the namespaces layer alone: the other layers' probes (ctypes,
    libseccomp) run while it comes up (#17), and it holds the whole probe's answer."""
    import gradgrader.sandbox.layers as layers
    import gradgrader.sandbox.zygote as zygote

    events: list[str] = []
    real_init, real_seccomp = zygote.Zygote.__init__, layers._probe_seccomp

    def started(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        events.append("zygote")
        real_init(self, *args, **kwargs)

    def seccomp():  # noqa: ANN202
        events.append("seccomp")
        return real_seccomp()

    monkeypatch.setattr(zygote.Zygote, "__init__", started)
    monkeypatch.setattr(layers, "_probe_seccomp", seccomp)
    early = checkrun._early_sandbox("softmax")
    assert early is not None
    try:
        assert events == ["zygote", "seccomp"]
        assert early.isolation == probe()
        import gradgrader.sandbox.bwrap as bwrap

        assert bwrap.namespaces_available() == probe().has("namespaces")
    finally:
        early.close()


def test_a_probe_that_fails_after_the_early_spawn_leaves_no_zygote_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    import gradgrader.sandbox.bwrap as bwrap
    import gradgrader.sandbox.layers as layers
    import gradgrader.sandbox.zygote as zygote

    launched: list[tuple] = []
    real = zygote.start_in_new_run

    def start(*args):  # noqa: ANN002, ANN202
        launched.append(real(*args))
        return launched[-1]

    def broken():  # noqa: ANN202
        raise RuntimeError("the probe broke")

    monkeypatch.setattr(zygote, "start_in_new_run", start)
    monkeypatch.setattr(layers, "probe", broken)
    if not bwrap.probe_is_cheap():
        pytest.skip("this machine's probe would start bubblewrap: nothing starts early")
    with pytest.raises(RuntimeError, match="the probe broke"):
        checkrun._early_sandbox("softmax")
    ((run_dir, _, _, started),) = launched
    assert started.proc.poll() is not None and not run_dir.exists()


def test_a_grader_whose_sandboxes_were_stopped_grades_again_with_a_new_one(tmp_path: Path) -> None:
    """``stop_sandboxes`` (a single check, once graded) kills the zygote without waiting;
    grading again starts a new one rather than using the stopped one, and ``close``
    reaps both."""
    assignment = load_assignment(str(copy_assignment(tmp_path / "softmax")))
    path = write_submission(tmp_path / "s", from_reference())
    with Grader(assignment, resolve_rubric(assignment), jobs=1) as grader:
        first = grader.grade(Submission("a", path, None))
        (box,) = grader._boxes.values()
        stopped = box._zygote
        grader.stop_sandboxes()
        again = grader.grade(Submission("b", path, None))
        assert box._zygote is not stopped and box._zygote.alive()
        fresh = box._zygote
    assert first.score == first.max_score == again.score
    assert stopped.proc.returncode == -9 and fresh.proc.poll() is not None
