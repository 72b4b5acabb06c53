"""Grader side of the sandbox: one zygote and the student processes it forks.

Only this package starts or talks to processes that run untrusted code. The pieces:
:mod:`.model` (value types), :mod:`.staging` (scratch space, copying a submission in),
:mod:`.encode` (arguments on the wire), :mod:`.zygote` (the zygote's client),
:mod:`.process` (one student process) and, here, :class:`Sandbox`, which ties them
together. The names other code imported from this module before it was split are
re-exported below.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from gradgrader.errors import SandboxError
from gradgrader.sandbox import _wire as wire
from gradgrader.sandbox import staging
from gradgrader.sandbox.bwrap import forget_probe
from gradgrader.sandbox.environment import CourseEnvironment, course_environment
from gradgrader.sandbox.layers import Isolation, probe
from gradgrader.sandbox.model import (
    SUBMISSION_DECODE_CAP,
    ChildLimits,
    ExitInfo,
    LoadReport,
    Problem,
    Returned,
    SandboxFailure,
    Staged,
    StagingError,
    sanitize,
    valid_utf8,
)
from gradgrader.sandbox.process import StudentProcess, _Drain
from gradgrader.sandbox.staging import hidden_folders, new_run_dir, scratch_home
from gradgrader.sandbox.zygote import SAFE_ENV, Zygote

# Re-exported for the code that imports them from here. The tunable caps are not: a
# test lowers them where they are read (``staging.STAGE_FILES``, ``staging.SCRATCH_CAP``,
# ``zygote.ZYGOTE``), and a copy here would change nothing.
__all__ = [
    "SAFE_ENV", "SUBMISSION_DECODE_CAP", "ChildLimits", "ExitInfo", "LoadReport", "Problem", "Returned",
    "Sandbox", "SandboxFailure", "Staged", "StagingError", "StudentProcess", "Zygote", "_Drain",
    "new_run_dir", "sanitize", "scratch_home", "valid_utf8",
]


class Sandbox:
    """One zygote and the student processes it forks, one at a time.

    Not thread-safe: batch grading gives each worker thread its own Sandbox.
    """

    def __init__(
        self, scratch_root: Path | None = None, isolation: Isolation | None = None, hidden: list[Path] | None = None,
        zygote: Zygote | None = None, warm: bool = False,
    ) -> None:
        """``zygote``: one already started for this scratch folder, isolation and at
        least these hidden folders (``prestart.Prestarted.covers``), adopted. ``warm``:
        the zygotes this sandbox starts warm up a student's call path before their first
        fork (for a batch: each student's process then starts with it warm)."""
        self._own_tmp = scratch_root is None
        self.scratch_root = new_run_dir() if scratch_root is None else scratch_root
        self.isolation = isolation if isolation is not None else probe()
        self.hidden = hidden_folders(hidden or [])
        self._zygote: Zygote | None = zygote
        self.warm = warm
        self._stage = self.scratch_root / "stage"
        self._staged = 0

    @property
    def zygote(self) -> Zygote:
        if self._zygote is None or not self._zygote.alive():
            if self._zygote is not None:
                self._zygote.close()
            self._zygote = Zygote(self.scratch_root, self.isolation.has("namespaces"), self.hidden, warm=self.warm)
        self._zygote.ready()  # a prestarted one: its hello (SandboxError if none)
        if self.isolation.has("seccomp") and self._zygote.info.get("seccomp") is not True:
            # The seccomp layer may be a remembered probe that is no longer true: never
            # run without it, say so once, and probe again on the next run.
            forget_probe()
            raise SandboxError(
                "the sandbox's interpreter could not load pyseccomp/libseccomp, which this machine "
                "was probed to have; the layers will be checked again on the next run "
                "(`gradgrader doctor` shows them)"
            )
        return self._zygote

    def zygote_starting(self) -> bool:
        """Whether its zygote is started and still coming up (a check's, prestarted)."""
        return self._zygote is not None and self._zygote.starting()

    def prestart(self) -> None:
        """Start the zygote now without waiting for it: its Python and numpy start while
        the grader prepares the course (a single ``check`` pays them only once, overlapped).
        Nothing else changes: the first use waits for its hello as a new zygote would."""
        if self._zygote is None:
            self._zygote = Zygote(self.scratch_root, self.isolation.has("namespaces"), self.hidden, wait=False, warm=self.warm)

    def _stage_copy(self, path: Path, folder: Path | None) -> tuple[Path, Path | None, int]:
        """Copy the submission into a fresh folder of this sandbox's stage (the previous
        submission's copy is removed): see :func:`staging.copy_submission`."""
        previous = self._stage / f"s{self._staged}"
        self._staged += 1
        target = self._stage / f"s{self._staged}"
        if not staging.reuse_stage(self._stage, previous, target):
            shutil.rmtree(self._stage, ignore_errors=True)
            for _ in range(100):
                try:
                    target.mkdir(parents=True)
                    break
                except FileExistsError:
                    # Left behind and not removable (a weak sandbox lets a submission write
                    # the stage): the next submission gets a fresh name, never that entry.
                    self._staged += 1
                    target = self._stage / f"s{self._staged}"
            else:
                raise FileExistsError(f"no free staging folder in {self._stage}")
        return staging.copy_submission(target, path, folder)

    def stage(self, path: Path, folder: Path | None = None, helpers: list[Path] | None = None) -> Staged:
        """Copy one submission (and the course's helpers) into the sandbox, once for all
        the processes it will run (a restart after a crash reuses the copy). Staging the
        next submission removes this one's copy."""
        try:
            staged, staged_folder, files = self._stage_copy(path, folder)
            course = staging.copy_helpers(self._stage, helpers or [])
        except OSError as exc:
            raise StagingError(f"cannot copy the submission into the sandbox: {exc.strerror or exc}") from None
        return Staged(staged, staged_folder, course, files)

    def start(
        self,
        path: Path,
        module: str,
        functions: list[str],
        limits: ChildLimits,
        folder: Path | None = None,
        helpers: list[Path] | None = None,
        output_cap: int = 64 << 10,
        load_timeout: float = 30.0,
        staged: Staged | None = None,
        packages: tuple[str, ...] = (),
        stubs: tuple[str, ...] = (),
        while_loading: Callable[[], None] | None = None,
        while_starting: Callable[[], None] | None = None,
    ) -> StudentProcess:
        """Start a process for a submission (staged now unless ``staged`` is given) and
        wait for it to load. ``packages``: the course's packages it may import besides
        numpy; ``stubs``: plotting packages replaced by inert stand-ins;
        ``while_loading``: the grader's own work, done while the process starts and imports
        the file, before waiting for it; ``while_starting``: done first if the zygote is
        still coming up (a check's), instead of waiting for it. Both again if the process
        is started again.

        If the sandbox fails to prepare the process (before any student code runs), the
        zygote is restarted and the process started once more; a second failure raises
        :class:`SandboxFailure` (the grader's fault, never a student's result)."""
        if staged is None:
            staged = self.stage(path, folder, helpers)
        env = course_environment(packages, stubs)  # raises MissingPackageError first
        failure = ""
        for _attempt in range(2):
            try:
                proc = self._start_once(
                    staged, module, functions, limits, output_cap, load_timeout, env, while_loading, while_starting
                )
            except SandboxError as exc:  # the zygote itself died or hung: start a new one
                failure = str(exc)
                self.close_zygote()
                continue
            if proc.setup_failure is None:
                return proc
            failure = proc.setup_failure
            self.close_zygote()  # a fresh zygote for the retry
        raise SandboxFailure(f"the sandbox could not prepare a process for {path.name}, twice: {failure}")

    def _start_once(
        self,
        staged: Staged,
        module: str,
        functions: list[str],
        limits: ChildLimits,
        output_cap: int,
        load_timeout: float,
        env: CourseEnvironment,
        while_loading: Callable[[], None] | None = None,
        while_starting: Callable[[], None] | None = None,
    ) -> StudentProcess:
        if while_starting is not None and self.zygote_starting():
            while_starting()  # its zygote is still coming up (a check's): the grader's work meanwhile
        zygote = self.zygote
        staged_folder, course = staged.folder, staged.course
        readable = [str(staged_folder or staged.path)] + ([str(course)] if course else []) + list(env.readable)
        address_space_mb = zygote.address_space_mb(limits)
        request = {
            "path": str(staged.path),
            "module": module,
            "functions": functions,
            "scratch_root": str(self.scratch_root / "work"),
            # Without namespaces there is no size-capped tmpfs: the zygote watches instead.
            "scratch_cap": None if self.isolation.has("namespaces") else staging.SCRATCH_CAP,
            # The student's own folder first (their helper modules), then the course's
            # helpers; both after site-packages, so neither can shadow numpy.
            "sys_path": ([str(staged_folder)] if staged_folder else []) + ([str(course)] if course else []),
            "imports": env.request(),
            "layers": {
                "landlock": self.isolation.has("landlock"),
                "seccomp": self.isolation.has("seccomp"),
                # The zygote adds the read-only paths it found itself (its ``read_paths``,
                # some 450 of them): only this submission's own travel with each spawn.
                "read": readable,
                "read_own": True,
            },
            "env": SAFE_ENV,
            "max_output_bytes": limits.max_output_bytes,
            "limits": {
                "memory_mb": address_space_mb,
                "cpu_s": max(1, int(limits.cpu_s)),
                "fsize_mb": limits.fsize_mb,
                "nproc": limits.nproc,
            },
        }
        try:
            pid, sock, out_fd = zygote.spawn(request)
        except (EOFError, OSError, wire.WireError) as exc:
            self.close_zygote()
            raise SandboxError(f"the sandbox could not start a process: {exc}") from None
        proc = StudentProcess(self, pid, sock, out_fd, output_cap, limits.max_output_bytes)
        proc.staged_prefix = str(staged.path.parent if staged_folder is None else staged_folder) + os.sep
        proc.cpu_limit = max(1, int(limits.cpu_s))
        proc.address_space_mb = address_space_mb
        if while_loading is not None:
            try:
                while_loading()
            except BaseException:
                proc.close()
                raise
        proc._await_load(load_timeout)
        return proc

    def close_zygote(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def kill_zygote(self) -> None:
        """Stop the zygote without waiting for it (:meth:`Zygote.kill`); :meth:`close`
        still reaps it."""
        if self._zygote is not None:
            self._zygote.kill()

    def close(self) -> None:
        self.close_zygote()
        if self._own_tmp:
            shutil.rmtree(self.scratch_root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
