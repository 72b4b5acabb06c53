"""gradgrader/cli/_early.py: `gradgrader check FILE -a NAME` starts its sandbox before
typer parses the command line (#17); `check` adopts it, every other way out closes it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import from_reference, sample_path, write_submission

import gradgrader.cli as cli
import gradgrader.cli._checkrun as checkrun
import gradgrader.cli._early as early_mod
from gradgrader.cli._early import EarlySandbox, check_assignment
from gradgrader.grading import Grader
from gradgrader.sandbox.prestart import Prestarted
from gradgrader.spec.locate import course_folders, every_course_folder, find_assignment


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "s.py", "--assignment", "softmax"], "softmax"),
        (["check", "--assignment=gmm", "s.py", "--json"], "gmm"),
        (["check", "-a", "softmax", "s.py"], "softmax"),
        (["check", "-asoftmax", "s.py"], "softmax"),
        (["check", "-wa", "softmax", "s.py"], "softmax"),
        (["check", "s.py", "--rubric", "-a", "-a", "gmm"], "gmm"),  # --rubric takes "-a" as its value
        (["check", "s.py", "-a", "gmm", "-a", "softmax"], "softmax"),  # the last one wins, as in click
        (["check", "s.py", "--json", "--failed", "--watch", "--allow-weak-sandbox", "-a", "x"], "x"),
        (["check", "s.py"], None),  # detected later, from the file
        (["check", "s.py", "-a", "softmax", "--help"], None),
        (["check", "--", "-a", "softmax"], None),  # after --, only arguments
        (["check", "s.py", "-a"], None),  # click's usage error
        (["check", "s.py", "--unknown", "-a", "softmax"], None),
        (["check", "s.py", "-x", "-a", "softmax"], None),
        (["grade", "class", "-a", "softmax"], None),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_assignment_is_read_from_a_check_command_line(argv: list[str], expected: str | None) -> None:
    assert check_assignment(argv) == expected


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_command_starts_its_sandbox_before_typer_rich_or_numpy_load() -> None:
    """What runs before the zygote starts is what delays it: ``gradgrader.cli`` and the
    early start import none of typer, rich or numpy (each takes tens of ms)."""
    code = (
        "import sys\n"
        "import gradgrader.cli\n"
        "from gradgrader.cli._early import start_early\n"
        "early = start_early(['check', 'softmax.py', '--assignment', 'softmax'])\n"
        "early.close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click', 'numpy')))"
    )
    assert ast.literal_eval(run(code).strip().splitlines()[-1]) == []


def test_the_zygote_is_spawned_before_dataclasses_ctypes_or_the_layers_probe_load() -> None:
    """Creating dataclasses (the sandbox's isolation and records) and probing Landlock and
    seccomp came before the zygote's spawn, ~12 ms of a check's start (#17): it is spawned
    from bubblewrap's probe, the staging folder and the zygote's own module alone, and the
    rest is loaded while it comes up (hashlib too: the probe's key is text, ~3 ms)."""
    code = (
        "import sys\n"
        "import gradgrader.cli\n"
        "import gradgrader.sandbox.zygote as zygote\n"
        "seen = []\n"
        "real = zygote.Zygote.__init__\n"
        "def spawned(self, *args, **kwargs):\n"
        "    seen.extend(m for m in ('dataclasses', 'ctypes', 'pyseccomp', 'hashlib', 'gradgrader.sandbox.layers',\n"
        "                            'gradgrader.sandbox.model', 'gradgrader.sandbox.prestart') if m in sys.modules)\n"
        "    real(self, *args, **kwargs)\n"
        "zygote.Zygote.__init__ = spawned\n"
        "from gradgrader.cli._early import start_early\n"
        "early = start_early(['check', 'softmax.py', '--assignment', 'softmax'])\n"
        "started = early._prestarted is not None\n"
        "early.close()\n"
        "print(started, seen)"
    )
    started, seen = run(code).strip().splitlines()[-1].split(" ", 1)
    if started == "False":
        pytest.skip("this machine's probe would start bubblewrap: nothing starts early")
    assert ast.literal_eval(seen) == []


def test_the_app_is_still_there_for_whoever_imports_it() -> None:
    from typer import Typer

    assert isinstance(cli.app, Typer)
    assert "check" in [c.name or c.callback.__name__ for c in cli.app.registered_commands]  # type: ignore[union-attr]
    with pytest.raises(AttributeError):
        _ = cli.no_such_name  # type: ignore[attr-defined]


class FakeStarted:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_take_gives_the_zygote_once_and_only_for_its_assignment() -> None:
    started = FakeStarted()
    early = EarlySandbox("softmax", started)  # type: ignore[arg-type]
    assert early.take("softmax") == (True, started)
    assert early.take("softmax") == (False, None)
    early.close()
    assert started.closed == 0  # adopted: the grader closes it

    other = FakeStarted()
    early = EarlySandbox("gmm", other)  # type: ignore[arg-type]
    assert early.take("softmax") == (False, None)  # hides another course: not this check's
    assert other.closed == 1


def _main(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[int, list[Prestarted]]:
    started: list[Prestarted] = []
    real = early_mod.early_sandbox

    def early(assignment: str | None, then=None) -> Prestarted | None:
        got = real(assignment, then)
        started.extend([got] if got else [])
        return got

    monkeypatch.setattr(early_mod, "early_sandbox", early)
    monkeypatch.setattr(sys, "argv", ["gradgrader", *argv])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    return int(stopped.value.code or 0), started


def _adoptions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The zygotes the grader's sandboxes take, as they take them; a check that would
    start a second zygote of its own fails."""
    adopted: list[object] = []
    real_sandbox = Grader._sandbox

    def sandbox(self: Grader):  # noqa: ANN202
        box = real_sandbox(self)
        adopted.append(box._zygote)
        return box

    monkeypatch.setattr(Grader, "_sandbox", sandbox)
    monkeypatch.setattr(checkrun, "_early_sandbox", lambda a: pytest.fail("check started a second zygote"))
    return adopted


def test_check_adopts_the_zygote_main_started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    adopted = _adoptions(monkeypatch)
    path = write_submission(tmp_path / "s", from_reference())
    code, started = _main(monkeypatch, ["check", str(path), "-a", "softmax", "--json"])
    assert code == 0, capsys.readouterr()
    if not started:
        pytest.skip("the sandbox probe is not remembered here: nothing starts early")
    assert adopted and all(z is started[0].zygote for z in adopted)
    assert started[0].zygote.proc.poll() is not None and not started[0].run_dir.exists()


def test_a_command_line_that_never_reaches_check_closes_the_early_zygote(monkeypatch: pytest.MonkeyPatch) -> None:
    code, started = _main(monkeypatch, ["check", "--assignment", "softmax"])  # no FILE: click's usage error
    assert code == 2
    assert all(p.zygote.proc.poll() is not None and not p.run_dir.exists() for p in started)


def test_check_of_another_assignment_closes_the_early_zygote(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The raw reader and click disagree (here: made to): the zygote hides the wrong
    course, so check closes it and starts its own."""
    monkeypatch.setattr(early_mod, "check_assignment", lambda argv: "gmm")
    path = write_submission(tmp_path / "s", from_reference())
    code, started = _main(monkeypatch, ["check", str(path), "-a", "softmax", "--json"])
    assert code == 0
    assert all(p.zygote.proc.poll() is not None and not p.run_dir.exists() for p in started)


def test_a_checks_early_start_reads_the_remembered_probe_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``early_sandbox`` asks whether the probe is cheap (which reads the remembered
    probe from the disk) once, then starts the zygote for the assignment's folder;
    ``prestart_for`` (grade's validation) asks it itself."""
    import gradgrader.sandbox.bwrap as bwrap

    asked: list[int] = []
    started: list[list[Path]] = []
    monkeypatch.setattr(bwrap, "probe_is_cheap", lambda: asked.append(1) or True)
    monkeypatch.setattr(early_mod, "_prestart", lambda hidden, then=None: started.append(hidden))
    early_mod.early_sandbox("softmax")
    assert len(asked) == 1 and started and started[0] == course_folders(find_assignment("softmax"))
    early_mod.prestart_for(started[0][0])
    assert len(asked) == 2 and len(started) == 2 and started[1] == started[0]
    early_mod.early_sandbox(None)  # detected later: every course folder
    assert len(asked) == 3 and started[2] == every_course_folder()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "s.py", "-a", "gmm"], "gmm"),
        (["check", "s.py"], None),  # detected later: a zygote that hides every course
        (["check", "s.py", "--json", "--failed"], None),
    ],
)
def test_a_check_of_a_file_starts_early_with_or_without_its_assignment(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: str | None
) -> None:
    asked: list[str | None] = []
    monkeypatch.setattr(early_mod, "early_sandbox", lambda a, then: asked.append(a))
    early = early_mod.start_early(argv)
    assert early is not None and early.assignment == expected and asked == [expected]


@pytest.mark.parametrize("argv", [["check"], ["check", "-a", "softmax"], ["check", "s.py", "--help"], ["grade", "class"], []])
def test_a_command_line_without_a_file_to_check_starts_nothing_early(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setattr(early_mod, "early_sandbox", lambda a, then: pytest.fail("started early"))
    assert early_mod.start_early(argv) is None


def test_check_without_an_assignment_adopts_the_zygote_main_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gradgrader check softmax.py`, the assignment detected from the file: the zygote
    main started before knowing it hides every course folder, so the grader adopts it
    (the check does not wait for a second one to come up, #17)."""
    adopted = _adoptions(monkeypatch)
    from gradgrader.sandbox.bwrap import probe_is_cheap

    cheap = probe_is_cheap()
    path = write_submission(tmp_path / "s", (sample_path("correct-vectorized") / "softmax.py").read_text())
    code, started = _main(monkeypatch, ["check", str(path), "--json"])
    out = capsys.readouterr()
    assert code == 0, out
    assert "assignment: softmax (chosen because" in out.err
    if not cheap:
        pytest.skip("the sandbox probe is not remembered here: nothing starts early")
    assert len(started) == 1 and adopted and all(z is started[0].zygote for z in adopted)
    assert started[0].zygote.proc.poll() is not None and not started[0].run_dir.exists()


def test_a_single_check_stops_its_sandbox_once_graded_and_reaps_it_at_the_end(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once graded, a single check kills its zygote without waiting, before showing the
    result (the kernel tears it down on the other core meanwhile: waiting took 2–4 ms of
    every check, #17), and reaps it before it exits: no process of the sandbox, not even
    a zombie, outlives the check."""
    from gradgrader.sandbox.zygote import Zygote

    events: list[str] = []
    zygotes: list[Zygote] = []
    real_kill, real_close = Zygote.kill, Zygote.close

    def kill(self: Zygote) -> None:
        events.append("kill")
        zygotes.append(self)
        real_kill(self)

    def close(self: Zygote) -> None:
        events.append("close")
        real_close(self)

    monkeypatch.setattr(Zygote, "kill", kill)
    monkeypatch.setattr(Zygote, "close", close)
    monkeypatch.setattr(checkrun, "_echo", lambda text: events.append("shown"))
    path = write_submission(tmp_path / "s", from_reference())
    code, _ = _main(monkeypatch, ["check", str(path), "-a", "softmax", "--json"])
    assert code == 0, capsys.readouterr()
    assert events[:2] == ["kill", "shown"] and "close" in events[2:]
    assert zygotes and all(z.proc.returncode == -9 for z in zygotes)  # SIGKILL, and reaped
