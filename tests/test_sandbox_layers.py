"""gradgrader.sandbox.layers: the bubblewrap probe is remembered per machine, and only
when it succeeded (#17: a student's `check` no longer starts a probe interpreter)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gradgrader.sandbox import bwrap, layers


class FakeRun:
    """``subprocess.run`` for the probe: counts the probes, succeeds or fails."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok
        self.calls = 0

    def __call__(self, args, **kwargs):  # noqa: ANN001, ANN204
        self.calls += 1
        return subprocess.CompletedProcess(args, 0 if self.ok else 1, b"", b"" if self.ok else b"bwrap: No permissions")


@pytest.fixture
def fake_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "bin" / "bwrap"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    monkeypatch.setattr(bwrap.shutil, "which", lambda name: str(exe) if name == "bwrap" else None)
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    bwrap._probe_bwrap.cache_clear()
    yield exe
    bwrap._probe_bwrap.cache_clear()


def _probe_again() -> tuple[bool, str]:
    bwrap._probe_bwrap.cache_clear()  # a new process
    return bwrap._probe_bwrap()


def test_a_successful_probe_is_remembered_for_the_next_process(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(ok=True)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    assert _probe_again()[0] and _probe_again()[0]
    assert run.calls == 1
    assert bwrap.probe_cache_file().is_file()


def test_a_failed_probe_is_never_remembered(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(ok=False)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    ok, detail = _probe_again()
    assert not ok and "No permissions" in detail
    assert not bwrap.probe_cache_file().exists()
    run.ok = True  # e.g. user namespaces were switched on since
    assert _probe_again()[0] and run.calls == 2


def test_a_changed_machine_probes_again(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(ok=True)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    _probe_again()
    fake_bwrap.write_text("#!/bin/sh\n# a new bubblewrap\n")  # another size: another key
    run.ok = False
    assert not _probe_again()[0] and run.calls == 2


def test_forget_probe_makes_the_next_probe_a_real_one(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(ok=True)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    _probe_again()
    bwrap.forget_probe()
    assert not bwrap.probe_cache_file().exists()
    run.ok = False
    assert not bwrap._probe_bwrap()[0] and run.calls == 2


@pytest.mark.parametrize("content", ["", "{not json", '["a list"]', '{"key": "another machine", "detail": "x"}'])
def test_an_unreadable_or_foreign_cache_file_is_ignored(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    path = bwrap.probe_cache_file()
    path.parent.mkdir(parents=True)
    path.write_text(content)
    run = FakeRun(ok=False)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    assert not _probe_again()[0] and run.calls == 1


def test_an_unwritable_cache_only_costs_time(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot be made
    run = FakeRun(ok=True)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    assert _probe_again()[0] and _probe_again()[0] and run.calls == 2


def test_a_sandbox_that_fails_to_start_forgets_the_remembered_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remembered "bubblewrap works" that is no longer true costs one failed run, with a
    message that says so, and the next run probes for real: never a weaker sandbox."""
    import gradgrader.sandbox.zygote as zygote
    from gradgrader.errors import SandboxError

    iso = layers.probe()
    if not iso.has("namespaces"):
        pytest.skip(f"needs bubblewrap; this machine has {iso.summary()}")
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    cache = bwrap.probe_cache_file()
    cache.parent.mkdir(parents=True)
    cache.write_text('{"key": "k", "detail": "d"}')
    broken = tmp_path / "broken.py"
    broken.write_text("import sys\nsys.stderr.write('cannot start\\n')\nsys.exit(1)\n")
    monkeypatch.setattr(zygote, "ZYGOTE", broken)
    (tmp_path / "scratch").mkdir()
    with pytest.raises(SandboxError, match="checked again on the next run"):
        zygote.Zygote(tmp_path / "scratch", iso.has("namespaces"), [])
    assert not cache.exists()
    bwrap._probe_bwrap.cache_clear()  # the next process's probe is a real one


def test_probe_is_cheap_only_when_it_starts_no_bubblewrap(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(ok=True)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    assert not bwrap.probe_is_cheap()  # first run on this machine
    bwrap._probe_bwrap()
    assert bwrap.probe_is_cheap()  # answered in this process
    bwrap._probe_bwrap.cache_clear()
    assert bwrap.probe_is_cheap()  # remembered for the next process
    bwrap.forget_probe()
    assert not bwrap.probe_is_cheap()
    monkeypatch.setattr(bwrap.shutil, "which", lambda name: None)
    assert bwrap.probe_is_cheap()  # no bubblewrap: nothing to start
    assert run.calls == 1


def test_two_callers_share_one_probe(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` probes in a thread while it imports; its later call waits for that answer
    instead of starting bubblewrap a second time."""
    import threading

    started, release = threading.Event(), threading.Event()
    run = FakeRun(ok=True)

    def slow_run(args, **kwargs):  # noqa: ANN001, ANN202
        started.set()
        release.wait(30)
        return run(args, **kwargs)

    monkeypatch.setattr(bwrap.subprocess, "run", slow_run)
    first = threading.Thread(target=layers.probe)
    first.start()
    assert started.wait(30)
    second = threading.Thread(target=layers.probe)
    second.start()
    release.set()
    first.join(30)
    second.join(30)
    assert run.calls == 1


def test_each_python_keeps_its_own_remembered_probe(fake_bwrap: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two interpreters on one machine (a course venv and a system install) no longer
    overwrite each other's answer, so neither probes again on every other run."""
    run = FakeRun(ok=True)
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    _probe_again()  # this interpreter
    other = tmp_path / "venv" / "python"
    other.parent.mkdir()
    other.write_text("another interpreter")
    monkeypatch.setattr(layers.sys, "executable", str(other))
    _probe_again()  # the other one: a new key, probed once
    monkeypatch.undo()
    monkeypatch.setattr(bwrap.subprocess, "run", run)
    monkeypatch.setattr(bwrap.shutil, "which", lambda name: str(fake_bwrap) if name == "bwrap" else None)
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    assert _probe_again()[0] and run.calls == 2  # the first one's answer is still remembered


def test_the_remembered_probes_are_bounded(fake_bwrap: Path) -> None:
    for i in range(bwrap.PROBE_CACHE_ENTRIES + 3):
        bwrap.remember_probe(f"key{i}", f"detail{i}")
    assert bwrap.remembered_probe("key0") is None
    assert bwrap.remembered_probe(f"key{bwrap.PROBE_CACHE_ENTRIES + 2}") == f"detail{bwrap.PROBE_CACHE_ENTRIES + 2}"
    assert len(bwrap._remembered_probes()) == bwrap.PROBE_CACHE_ENTRIES


@pytest.fixture
def seccomp_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The seccomp probe in a cache folder of its own, its import of pyseccomp counted."""
    import builtins

    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    imports = []
    real = builtins.__import__

    def counting(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name == "pyseccomp":
            imports.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", counting)
    layers._probe_seccomp.cache_clear()
    yield imports
    layers._probe_seccomp.cache_clear()


def test_a_working_seccomp_is_remembered_and_the_next_process_does_not_load_pyseccomp(seccomp_probe: list) -> None:
    """Importing pyseccomp runs `ldconfig -p` twice (~4–8 ms of every check, #17): a
    success is remembered like bubblewrap's, forgotten with it."""
    first = layers._probe_seccomp()
    if not first[0]:
        pytest.skip(f"no seccomp here: {first[1]}")
    assert seccomp_probe == ["pyseccomp"]
    layers._probe_seccomp.cache_clear()  # a new process
    assert layers._probe_seccomp() == first
    assert seccomp_probe == ["pyseccomp"]  # not loaded again
    bwrap.forget_probe()
    assert layers._probe_seccomp() == first
    assert seccomp_probe == ["pyseccomp", "pyseccomp"]  # probed for real


def test_a_failed_seccomp_probe_is_never_remembered(seccomp_probe: list, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # `import pyseccomp` fails
    assert not layers._probe_seccomp()[0]
    layers._probe_seccomp.cache_clear()
    assert not layers._probe_seccomp()[0]
    assert not bwrap._remembered_probes()


def test_a_sandbox_whose_interpreter_lacks_seccomp_refuses_to_start_and_forgets_the_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remembered "seccomp works" that is no longer true: the zygote says it could not
    load pyseccomp, the sandbox refuses to start (never a weaker one) and the next run
    probes again."""
    from gradgrader.errors import SandboxError
    from gradgrader.sandbox import runner

    iso = layers.probe()
    if not iso.has("seccomp"):
        pytest.skip(f"needs seccomp; this machine has {iso.summary()}")
    monkeypatch.setenv("GRADGRADER_CACHE_DIR", str(tmp_path / "cache"))
    bwrap.remember_probe("k", "d")
    forgotten = []
    monkeypatch.setattr(runner, "forget_probe", lambda: forgotten.append(True))
    real_ready = runner.Zygote.ready

    def ready_without_seccomp(self):  # noqa: ANN001, ANN202
        real_ready(self)
        self.info = {**self.info, "seccomp": False}

    monkeypatch.setattr(runner.Zygote, "ready", ready_without_seccomp)
    with runner.Sandbox(None, iso) as box, pytest.raises(SandboxError, match="checked again on the next run"):
        box.zygote  # noqa: B018 - the property starts it
    assert forgotten


def test_a_changed_pyseccomp_or_linker_cache_probes_seccomp_again(
    seccomp_probe: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remembered answer is keyed on pyseccomp's file and the dynamic linker's cache
    (their size, time and inode): another one of either is probed for real."""
    first = layers._probe_seccomp()
    if not first[0]:
        pytest.skip(f"no seccomp here: {first[1]}")
    real = layers.file_stamps
    monkeypatch.setattr(layers, "file_stamps", lambda *paths: [s + 1 for s in real(*paths)])  # a reinstall
    layers._probe_seccomp.cache_clear()  # a new process
    assert layers._probe_seccomp() == first
    assert seccomp_probe == ["pyseccomp", "pyseccomp"]
