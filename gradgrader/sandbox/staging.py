"""Scratch space and staging: where a run keeps its files, and how a submission is
copied into the sandbox.

The copy runs with the grader's rights, so it copies regular files only, never
through a link, and a bounded number of them (issue 16).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from gradgrader.errors import SandboxError


class StagingError(SandboxError):
    """The submission cannot be copied into the sandbox (a link, a FIFO, unreadable)."""


SCRATCH_CAP = 256 << 20  # bytes a worker's student scratch folders may hold (tmpfs, or watched)
STAGE_CAP = 20 << 20  # bytes of a student's folder copied into the sandbox (the graded file always is)
STAGE_FILES = 1000  # files of a student's folder copied into the sandbox (the graded file always is)
STAGE_WALK = 10 * STAGE_FILES  # entries looked at before the rest of a folder is left out unseen


def scratch_home() -> Path:
    """The one folder (mode 0700, this user's) under which every grading run of this
    user keeps its scratch space. Sandboxes hide all of it and bind back only their own
    folder, so a student process never sees another run's staged submissions — not even
    those a killed run left behind.

    It lies in :func:`scratch_base`. A folder of that name that is not this user's own
    private folder (made by someone else, or a link) is never used: the run gets a
    private folder of its own instead."""
    base = scratch_base()
    home = base / f"gradgrader-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    try:
        home.mkdir(mode=0o700, exist_ok=True)
        info = home.lstat()
    except OSError:
        info = None
    if info is None or not _private_folder(info):
        return _own_home(base)
    return home


@functools.lru_cache(maxsize=1)
def _own_home(base: Path) -> Path:
    """This process's private home, when the shared one cannot be used: made once."""
    return Path(tempfile.mkdtemp(prefix="gradgrader-", dir=base))


def _private_folder(info: os.stat_result) -> bool:
    """A folder (not a link) of this user that nobody else may enter."""
    if not stat.S_ISDIR(info.st_mode):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return sys.platform.startswith("win") or info.st_mode & 0o077 == 0


# Free space a memory file system needs before scratch space goes there: at least this,
# and twice what a worker per core may hold at once — its staged copy (STAGE_CAP) and,
# without namespaces, its students' scratch folders (SCRATCH_CAP). Docker's default
# /dev/shm (64 MiB) is left alone.
MEMORY_SCRATCH_FREE = 2 << 30


def memory_scratch_needs() -> int:
    """The free space :func:`scratch_base` asks of ``/dev/shm``."""
    return max(MEMORY_SCRATCH_FREE, 2 * (os.cpu_count() or 1) * (STAGE_CAP + SCRATCH_CAP))


@functools.lru_cache(maxsize=1)
def scratch_base() -> Path:
    """Where scratch space goes: ``$TMPDIR`` when it is set (the user chose); otherwise
    Linux's memory file system ``/dev/shm`` when it has ``MEMORY_SCRATCH_FREE`` to spare;
    otherwise the system's temporary folder.

    Each submission is staged (its files created there, the previous one's removed) and,
    without namespaces, its scratch files are made and removed there too. On a disk's
    ext4 that costs more than the copies: ext4 does not reuse an inode deleted in the
    last minute, so each file it creates after a run has removed thousands scans past
    them — the class's feedback files written at the end of a 1,000-submission run took
    0.6 ms each instead of 0.1 ms, ~0.5 s of the run (#17). In memory nothing of it is
    on a disk, and a run's scratch is gone once the run is."""
    if not os.environ.get("TMPDIR") and sys.platform.startswith("linux"):
        shm = Path("/dev/shm")
        try:
            fs = os.statvfs(shm)
            usable = shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) and fs.f_bavail * fs.f_frsize >= memory_scratch_needs()
        except OSError:
            usable = False
        if usable:
            return shm
    return Path(tempfile.gettempdir())


def new_run_dir() -> Path:
    """A fresh scratch folder for this process, named after its pid; folders of runs
    whose process is gone (killed with -9) are removed on the way."""
    home = scratch_home()
    for old in home.glob("run-*"):
        try:
            pid = int(old.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists() and sys.platform.startswith("linux"):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=home))


def worker_folder(run_dir: Path) -> Path:
    """The scratch folder of this process's and thread's sandbox within a grading run."""
    return run_dir / f"worker-{os.getpid()}-{threading.get_ident()}"


def hidden_folders(hidden: Iterable[Path]) -> list[Path]:
    """What a sandbox hides, as it holds it: every run's scratch space, then the
    existing folders of ``hidden``, resolved."""
    return [scratch_home(), *(Path(p).resolve() for p in hidden if Path(p).exists())]


def _importable(name: str) -> str:
    """The staged name of the graded file: ``Softmax.PY`` as ``Softmax.py`` (Python
    imports only the lower-case suffix)."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.py" if dot and suffix.lower() == "py" else name


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _walk_regular(folder: Path) -> Iterator[Path]:
    """Regular files below ``folder``, never following links, skipping caches."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in {"__pycache__", ".git", ".ipynb_checkpoints"}
                       and not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            p = Path(dirpath) / name
            if _regular(p):
                yield p


def _copy_regular(src: Path, dest: Path) -> None:
    """Copy one regular file without following a link at the last component."""
    fd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StagingError(f"{src.name} is not a regular file")
        with open(fd, "rb", closefd=False) as fin, open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    finally:
        os.close(fd)


def _remove(entry: os.DirEntry[str]) -> None:
    """Remove one entry of a folder being emptied: a folder (not a link) with all it holds."""
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)


def _empty(folder: str, keep: str | None = None) -> str | None:
    """Remove everything in ``folder`` but the folder ``keep`` (not a link), which is
    returned if it is there."""
    kept = None
    with os.scandir(folder) as entries:
        for entry in list(entries):
            if entry.name == keep and entry.is_dir(follow_symlinks=False):
                kept = entry.path
            else:
                _remove(entry)
    return kept


def reuse_stage(stage: Path, previous: Path, target: Path) -> bool:
    """Make ``target`` the next submission's empty staging folder from the previous
    one's: everything in ``stage`` but ``previous`` is removed, and everything in
    ``previous`` but its folder ``work``, which is emptied; ``previous`` is then renamed
    ``target``. That leaves what removing ``stage`` and making ``target`` anew would
    (nothing of an earlier submission, whatever its process did to the stage without
    Landlock), without removing and making three folders for each submission: ~0.2 ms
    of CPU and up to ~1 ms on ext4 (#17). False if there is nothing to reuse or it could
    not be done: the caller then removes the stage and starts afresh."""
    try:
        if not (stat.S_ISDIR(os.lstat(stage).st_mode) and stat.S_ISDIR(os.lstat(previous).st_mode)):
            return False
        _empty(str(stage), keep=previous.name)
        work = _empty(str(previous), keep="work")
        if work is not None:
            _empty(work)
        os.rename(previous, target)
    except OSError:
        return False
    return True


def copy_submission(target: Path, path: Path, folder: Path | None) -> tuple[Path, Path | None, int]:
    """Copy the submission into the empty folder ``target``: the student process reads
    its own copy and never learns (or, under Landlock, may read) the class folder.

    Only regular files are copied, never through a link: a symlink to the reference
    or to /proc/self/environ, a FIFO or a device in a student's folder is left out
    (the copy runs with the grader's rights). The graded file itself must be a
    regular file. Beside it, at most STAGE_FILES files and STAGE_CAP bytes of the
    folder are copied, from the first STAGE_WALK entries: 20,000 empty files cost
    one student a bounded copy, once (issue 16). Returns the graded file's copy,
    the folder's copy and the number of files copied."""
    if not _regular(path):
        raise StagingError(f"{path.name} is not a regular file (a link or a special file): it cannot be graded")
    if folder is None:
        dest = target / _importable(path.name)
        _copy_regular(path, dest)
        return dest, None, 1
    work = target / "work"
    graded = path.relative_to(folder)
    main = work / graded.with_name(_importable(graded.name))
    main.parent.mkdir(parents=True, exist_ok=True)
    _copy_regular(path, main)
    copied, files, seen = path.lstat().st_size, 1, 0
    for src in _walk_regular(folder):
        seen += 1
        if seen > STAGE_WALK or files >= STAGE_FILES:
            break
        if src == path:
            continue
        size = src.lstat().st_size
        if copied + size > STAGE_CAP:
            continue
        dest = work / src.relative_to(folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy_regular(src, dest)
        copied += size
        files += 1
    return main, work, files


def copy_helpers(stage: Path, helpers: list[Path]) -> Path | None:
    """Copy the course's helper modules and data files (e.g. ``common.py``) into a
    folder of their own below ``stage``: the student process may read them, never the
    rest of the assignment folder (its reference solution)."""
    if not helpers:
        return None
    target = stage / "course"
    target.mkdir(parents=True, exist_ok=True)
    for helper in helpers:
        if Path(helper).is_dir():
            shutil.copytree(helper, target / Path(helper).name, dirs_exist_ok=True, symlinks=False)
        else:
            shutil.copyfile(helper, target / Path(helper).name)
    return target
