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


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_the_next_submission_is_staged_in_the_emptied_copy_of_the_previous(tmp_path):
    # The stage's folders are reused (#17), yet nothing of an earlier submission is left,
    # whatever a process without Landlock did to the stage: files beside its copy, a link
    # where "work" was, a link inside it to a folder outside (never followed).
    outside = tmp_path / "outside"
    write_submission(outside, "keep me", "precious.txt")
    one = tmp_path / "one"
    write_submission(one / "sub" / "deep", "x", "data.txt")
    path_one = module(one, "def f(x):\n    return 1.0\n")
    two = tmp_path / "two"
    path_two = module(two, "def f(x):\n    return 2.0\n")
    box = Sandbox(tmp_path / "box")
    try:
        staged, work, _ = box._stage_copy(path_one, one)
        assert work is not None and (work / "sub" / "deep" / "data.txt").is_file()
        stage = box._stage
        (stage / "planted.txt").write_text("left by a student")
        (staged.parent / "link-out").symlink_to(outside)
        (work.parent / "extra").mkdir()
        reused = (work.parent.stat().st_ino, work.stat().st_ino)  # s1 and its work folder
        helper = stage / "course"
        helper.mkdir()
        (helper / "common.py").write_text("tampered = True\n")
        staged_two, work_two, _ = box._stage_copy(path_two, two)
        assert work_two is not None and work_two.parent.name == "s2"
        assert (work_two.parent.stat().st_ino, work_two.stat().st_ino) == reused
        assert _tree(stage) == {"s2", "s2/work", f"s2/work/{path_two.name}"}
        assert (work_two / path_two.name).read_text() == path_two.read_text()
        assert (outside / "precious.txt").read_text() == "keep me"
    finally:
        box.close()


def test_a_previous_copy_replaced_by_a_link_is_not_reused_nor_followed(tmp_path):
    outside = tmp_path / "outside"
    write_submission(outside / "work", "keep me", "precious.txt")
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "s1").symlink_to(outside)
    assert staging.reuse_stage(stage, stage / "s1", stage / "s2") is False
    assert (outside / "work" / "precious.txt").read_text() == "keep me"
    # ... and "work" replaced by a link is removed as a link, its target untouched.
    (stage / "s1").unlink()
    (stage / "s1").mkdir()
    (stage / "s1" / "work").symlink_to(outside / "work")
    assert staging.reuse_stage(stage, stage / "s1", stage / "s2") is True
    assert _tree(stage) == {"s2"}
    assert (outside / "work" / "precious.txt").read_text() == "keep me"


def test_staging_starts_afresh_when_there_is_no_previous_copy(tmp_path):
    path = module(tmp_path / "one", "def f(x):\n    return 1.0\n")
    box = Sandbox(tmp_path / "box")
    try:
        assert staging.reuse_stage(box._stage, box._stage / "s0", box._stage / "s1") is False
        staged, folder, _ = box._stage_copy(path, None)
        assert staged == box._stage / "s1" / path.name and folder is None
        box._stage_copy(path, None)
        assert _tree(box._stage) == {"s2", f"s2/{path.name}"}
    finally:
        box.close()


def test_a_batch_sandboxs_zygote_warms_up_and_its_children_answer_as_any(tmp_path):
    """A pool worker's sandbox starts its zygote with ``warm`` (#17: the call path run
    once before the first fork); a single check's does not. Its children answer calls as
    any sandbox's do."""
    from gradgrader.loading import open_grader

    for jobs, warm in ((2, True), (1, False)):
        with open_grader("softmax", jobs=jobs, allow_weak=True) as grader:
            assert grader._sandbox().warm is warm
    path = module(tmp_path / "student", "import numpy as np\ndef f(x):\n    return float(np.sum(x)), x * 2\n")
    with Sandbox(tmp_path / "box", warm=True) as box, limited_session(box, path) as s:
        assert "warm" in box.zygote.proc.args
        got = s.call("f", [np.arange(3.0)], ["total", "twice"], 10.0)
        assert float(got.values[0]) == 3.0 and np.array_equal(got.values[1], [0.0, 2.0, 4.0])


def test_an_entry_left_under_the_next_staging_name_does_not_stop_the_next_submission(tmp_path, monkeypatch):
    """With a weak sandbox a submission can write the stage; as a user other than root it
    can leave there an entry nobody can remove, named as the next staging folder would be
    (s2). The next submission is staged under a fresh name instead of failing. (Root
    removes anything: the removal is made to fail here.)"""
    import gradgrader.sandbox.runner as runner

    one = module(tmp_path / "one", "def f(x):\n    return 1.0\n")
    box = Sandbox(tmp_path / "box")
    try:
        box._stage_copy(one, None)
        planted = box._stage / "s2"
        planted.mkdir()
        (planted / "softmax.py").write_text("left by a student")

        def refuse(entry):
            raise PermissionError(13, "Permission denied", entry.path)

        monkeypatch.setattr(staging, "_remove", refuse)
        monkeypatch.setattr(runner.shutil, "rmtree", lambda *a, **k: None)
        two = module(tmp_path / "two", "def f(x):\n    return 2.0\n")
        staged, _, _ = box._stage_copy(two, None)
        assert staged.parent.name == "s3" and staged.read_text() == two.read_text()
        assert (planted / "softmax.py").read_text() == "left by a student"
    finally:
        monkeypatch.undo()
        box.close()


# Where scratch space goes (#17) ---------------------------------------------------------


@pytest.fixture
def fresh_base(monkeypatch: pytest.MonkeyPatch):
    """scratch_base() and scratch_home() decided afresh in this test, and again after it."""
    from gradgrader.sandbox import staging

    decide = staging.scratch_base
    decide.cache_clear()
    staging._own_home.cache_clear()
    yield staging
    decide.cache_clear()
    staging._own_home.cache_clear()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's /dev/shm")
def test_scratch_goes_to_memory_unless_tmpdir_is_set_or_memory_is_short(fresh_base, monkeypatch) -> None:
    import tempfile

    staging = fresh_base
    monkeypatch.setenv("TMPDIR", str(Path(tempfile.gettempdir())))
    assert staging.scratch_base() == Path(tempfile.gettempdir())  # the user's choice wins

    staging.scratch_base.cache_clear()
    monkeypatch.delenv("TMPDIR")
    real = os.statvfs

    def room(free: int):
        def statvfs(path):
            got = real(path)
            if str(path) != "/dev/shm":
                return got
            return os.statvfs_result((got.f_bsize, 1, got.f_blocks, free, free, got.f_files, got.f_ffree, got.f_favail, got.f_flag, got.f_namemax))
        return statvfs

    if not (Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK)):
        pytest.skip("no writable /dev/shm here")
    monkeypatch.setattr(os, "statvfs", room(staging.memory_scratch_needs()))
    assert staging.scratch_base() == Path("/dev/shm")
    staging.scratch_base.cache_clear()
    monkeypatch.setattr(os, "statvfs", room(64 << 20))  # Docker's default /dev/shm
    assert staging.scratch_base() == Path(tempfile.gettempdir())
    staging.scratch_base.cache_clear()
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # a worker per core: more to hold
    monkeypatch.setattr(os, "statvfs", room(staging.MEMORY_SCRATCH_FREE))
    assert staging.memory_scratch_needs() > staging.MEMORY_SCRATCH_FREE
    assert staging.scratch_base() == Path(tempfile.gettempdir())


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_shared_home_that_is_not_this_users_private_folder_is_never_used(fresh_base, monkeypatch, tmp_path) -> None:
    staging = fresh_base
    monkeypatch.setattr(staging, "scratch_base", lambda: tmp_path)
    name = f"gradgrader-{os.getuid()}"
    (tmp_path / name).mkdir(mode=0o777)
    os.chmod(tmp_path / name, 0o777)  # anyone may enter and write: someone else's trap
    home = staging.scratch_home()
    assert home != tmp_path / name and home.parent == tmp_path
    assert home.stat().st_mode & 0o777 == 0o700 and home.stat().st_uid == os.getuid()
    assert staging.scratch_home() == home  # one private home for the process
    assert staging.new_run_dir().parent == home

    staging._own_home.cache_clear()
    (tmp_path / name).rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / name).symlink_to(tmp_path / "elsewhere")  # a link, even to a private folder
    home = staging.scratch_home()
    assert home not in (tmp_path / name, tmp_path / "elsewhere")

    staging._own_home.cache_clear()
    (tmp_path / name).unlink()
    assert staging.scratch_home() == tmp_path / name  # made here, private: used
