"""gradgrader/sandbox/staging.py: the copy of a submission's file or folder a student process
runs in, made once and bounded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import limited_session, module, write_submission

from gradgrader.sandbox import Sandbox, staging
from gradgrader.sandbox.runner import new_run_dir, scratch_home


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
    with Sandbox(tmp_path / "box") as box, limited_session(box, path, folder=folder) as s:
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
    with Sandbox(tmp_path / "box") as box, limited_session(box, path, folder=folder) as s:
        assert s.load.ok  # the graded file is always copied
    assert copies[0] == path and len(copies) <= 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_scratch_left_by_a_killed_run_is_removed_and_live_ones_are_kept(tmp_path: Path) -> None:
    home = scratch_home()
    dead_pid = 2**22 + 12345  # above pid_max: no such process
    stale = home / f"run-{dead_pid}-test"
    stale.mkdir()
    (stale / "staged.py").write_text("x = 1\n")
    live = home / f"run-{os.getpid()}-test"
    live.mkdir()
    try:
        fresh = new_run_dir()
        assert not stale.exists()
        assert live.exists()
        assert fresh.parent == home and fresh.name.startswith(f"run-{os.getpid()}-")
        assert oct(home.stat().st_mode & 0o777) == "0o700"
    finally:
        for d in (live, stale):
            if d.exists():
                import shutil

                shutil.rmtree(d)
        fresh.rmdir()
