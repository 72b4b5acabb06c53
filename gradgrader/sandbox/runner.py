"""Grader side of the sandbox: start the zygote, run one student process, talk to it.

Only this package starts or talks to processes that run untrusted code. Everything
that comes back is treated as hostile: messages are size-capped, arrays go through
the strict decoder, and a process that stops answering is killed with its whole
process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradgrader.errors import SandboxError
from gradgrader.sandbox import _wire as wire
from gradgrader.sandbox.decode import DecodeError, decode_array
from gradgrader.sandbox.environment import CourseEnvironment, course_environment
from gradgrader.sandbox.layers import Isolation, namespace_args, probe

ZYGOTE = Path(__file__).with_name("_zygote.py")


def scratch_home() -> Path:
    """The one folder (mode 0700) under which every grading run of this user keeps its
    scratch space. Sandboxes hide all of it and bind back only their own folder, so a
    student process never sees another run's staged submissions — not even those a
    killed run left behind."""
    home = Path(tempfile.gettempdir()) / f"gradgrader-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    home.mkdir(mode=0o700, exist_ok=True)
    return home


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
SCRATCH_CAP = 256 << 20  # bytes a worker's student scratch folders may hold (tmpfs, or watched)
STAGE_CAP = 20 << 20  # bytes of a student's folder copied into the sandbox (the graded file always is)
STAGE_FILES = 1000  # files of a student's folder copied into the sandbox (the graded file always is)
STAGE_WALK = 10 * STAGE_FILES  # entries looked at before the rest of a folder is left out unseen
# Decoded arrays (float64) the grader accepts from one reply, and from one submission in
# all: a reply holds a few outputs of at most max_output_bytes each; a whole submission's
# honest outputs are a few MiB (80 finite-difference calls of a (K, D) gradient).
REPLY_DECODE_CAP = 64 << 20
SUBMISSION_DECODE_CAP = 512 << 20

# The only environment a sandboxed process ever sees. One BLAS thread: grading runs
# one process per core, and a fixed thread count keeps float results reproducible.
SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


class StagingError(SandboxError):
    """The submission cannot be copied into the sandbox (a link, a FIFO, unreadable)."""


class SandboxFailure(SandboxError):
    """The sandbox could not prepare a process for a submission, twice: the grader's
    fault (or the machine's), never the student's; the TA sees why."""


@dataclass(frozen=True)
class Staged:
    """A submission copied into the sandbox once (see :meth:`Sandbox.stage`): the graded
    file's copy, the copy of its folder (None for a lone file) and the course helpers."""

    path: Path
    folder: Path | None
    course: Path | None
    files: int = 1  # files copied


@dataclass(frozen=True)
class ChildLimits:
    """rlimits of one student process (see the zygote's ``child_main``)."""

    memory_mb: int = 1024
    cpu_s: float = 120.0
    fsize_mb: int = 16
    nproc: int = 64
    max_output_bytes: int = 16 << 20  # one returned array: 2 M float64, far above any homework's


@dataclass(frozen=True)
class Problem:
    """Why a load or a call produced no usable value, in words for the student."""

    kind: str  # not-implemented, exception, timeout, crashed, memory-limit, wrong-output, wrong-type, ...
    message: str
    exc_type: str = ""
    line: int | None = None
    code: str = ""

    def describe(self) -> str:
        where = f" (line {self.line}: {self.code.strip()})" if self.line else ""
        if self.kind == "exception" or (self.exc_type and self.kind in {"not-implemented", "memory-limit"}):
            first = self.message.strip().splitlines()[0] if self.message.strip() else ""
            more = " …" if self.message.strip().count("\n") else ""
            text = f"{self.exc_type}: {first}{more}" if first else self.exc_type
            return f"raised {text}{where}"
        return f"{self.message}{where}"


@dataclass(frozen=True)
class Returned:
    """What one call returned: per output, an array (float64) or a problem; plus type names."""

    values: tuple[np.ndarray | None, ...]
    types: tuple[str, ...]
    problems: tuple[Problem | None, ...]
    elapsed: float


@dataclass
class ExitInfo:
    exit_code: int | None = None
    signal_name: str | None = None
    cpu_s: float = 0.0
    killed_by_grader: bool = False
    reason: str | None = None  # why the sandbox killed it, if it was not the grader's deadline

    def describe(self) -> str:
        if self.reason:
            return f"the process was stopped: {self.reason}"
        if self.signal_name == "SIGSEGV":
            return "the process crashed with a segmentation fault"
        if self.signal_name in {"SIGXCPU"}:
            return "the process used up its CPU time"
        if self.signal_name:
            return f"the process was killed by {self.signal_name}"
        return f"the process exited with status {self.exit_code} (exit() or os._exit() in the submission)"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def valid_utf8(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (``'\\udcff'`` in an exception message,
    which JSON carries as an escape) becomes U+FFFD. Such a character cannot be written
    to a UTF-8 file and stopped the results writer for every student (issue 16)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def sanitize(text: str) -> str:
    """Text that came out of a student process, made safe to store and show: valid
    UTF-8, without terminal control characters (escape sequences, bells, carriage
    returns), so none of it can act on a terminal or break a writer."""
    return _CONTROL.sub("", valid_utf8(text))


def _problem(info: Any) -> Problem:
    if not isinstance(info, dict):
        return Problem("crashed", "the sandboxed process sent a malformed reply")
    line = info.get("line")
    return Problem(
        kind=str(info.get("kind", "exception"))[:40],
        message=sanitize(str(info.get("message", ""))[:2000]),
        exc_type=sanitize(str(info.get("type", ""))[:100]),
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        code=sanitize(str(info.get("code", ""))[:300]),
    )


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


def _walk_regular(folder: Path):  # noqa: ANN202 - a generator of Paths
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


def _encode_args(
    args: list[Any], blobs: list[bytes] | None = None, seen: dict[int, int] | None = None
) -> tuple[list[dict], list[bytes]]:
    """Arguments as JSON specs plus raw array bytes. An array object passed to several
    calls of one batch (the data X of 40 finite-difference calls) travels once; the
    child still gives every call its own copy."""
    blobs = [] if blobs is None else blobs
    seen = {} if seen is None else seen
    return [_encode_value(a, blobs, seen) for a in args], blobs


def _encode_value(a: Any, blobs: list[bytes], seen: dict[int, int]) -> dict:
    from gradgrader.spec.models import Composite

    if isinstance(a, np.ndarray):
        if id(a) not in seen:
            seen[id(a)] = len(blobs)
            blobs.append(np.ascontiguousarray(a).tobytes())
        return {"kind": "array", "blob": seen[id(a)], "dtype": a.dtype.str, "shape": list(a.shape)}
    if isinstance(a, Composite):
        return {"kind": "object", "factory": a.factory, "fields": {k: _encode_value(v, blobs, seen) for k, v in a.fields.items()}}
    if isinstance(a, (bool, int, np.integer)):
        return {"kind": "int", "value": int(a)}
    return {"kind": "float", "value": float(a)}


class _Drain(threading.Thread):
    """Reads a child's stdout/stderr pipe to the end, keeping only the first ``cap`` bytes.

    The pipe is non-blocking and bytes leave it only under ``_lock``: :meth:`text`
    takes whatever is still in the pipe itself, so it returns everything printed so
    far without waiting for this thread (the child flushes before each reply)."""

    def __init__(self, fd: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.cap = fd, max(cap, 0)
        self.kept = bytearray()
        self.total = 0
        self.eof = False
        self._lock = threading.Lock()
        os.set_blocking(fd, False)

    def _take(self) -> None:
        """Move what the pipe holds now into ``kept`` (call with the lock held)."""
        while not self.eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                self.eof = True
                return
            if not chunk:
                self.eof = True
                return
            self.total += len(chunk)
            if len(self.kept) < self.cap:
                self.kept += chunk[: self.cap - len(self.kept)]

    def run(self) -> None:
        import select

        poller = select.poll()  # not select(): descriptors above 1024 are fine
        poller.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        try:
            while not self.eof:
                poller.poll()  # wait without the lock
                with self._lock:
                    self._take()
        finally:
            with self._lock:
                self.eof = True
                with contextlib.suppress(OSError):
                    os.close(self.fd)

    def text(self) -> str:
        with self._lock:
            self._take()
            kept, total = bytes(self.kept), self.total
        text = sanitize(kept.decode("utf-8", errors="replace"))
        if total > len(kept):
            text += f"\n[… {total - len(kept)} more bytes of output not kept]"
        return text



class Zygote:
    """The pre-started process that forks student processes (see ``_zygote.py``)."""

    HELLO_TIMEOUT = 60.0  # seconds to start Python, import numpy and say hello

    def __init__(self, scratch_root: Path, isolation: Isolation, hidden: list[Path], wait: bool = True) -> None:
        """Start the zygote; ``wait=False`` returns at once (its Python starts and imports
        numpy while the grader goes on) and :meth:`ready` waits for its hello."""
        self.scratch_root = scratch_root
        self.baseline_mb = 0
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-I", "-B", str(ZYGOTE), str(theirs.fileno())]
        (scratch_root / "work").mkdir(exist_ok=True)
        if isolation.has("namespaces"):
            bwrap = shutil.which("bwrap") or "bwrap"
            # The students' scratch folders live on a tmpfs capped in size: a disk-filling
            # submission fills only that.
            cap = ["--size", str(SCRATCH_CAP), "--tmpfs", str(scratch_root / "work")]
            command = [bwrap, *namespace_args([scratch_root], hidden), *cap, "--", *command]
        try:
            self.proc = subprocess.Popen(
                command,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=SAFE_ENV,
                cwd=str(scratch_root),
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start the sandbox interpreter {sys.executable}: {exc}") from None
        finally:
            theirs.close()
        self.ctrl = ours
        self.info: dict = {}
        self._ready = False
        if wait:
            self.ready()

    def ready(self) -> None:
        """Wait for the zygote's hello (once); :class:`SandboxError` if it never came."""
        if self._ready:
            return
        self.ctrl.settimeout(self.HELLO_TIMEOUT)
        try:
            hello, _, _ = wire.recv(self.ctrl, max_total=1 << 16)
        except (EOFError, OSError, wire.WireError):
            # Kill first, then read what it said: a zygote that hangs (no hello within
            # the time-out) would otherwise keep its stderr open, and the read with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            err_bytes = b""
            with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
                err_bytes = self.proc.communicate(timeout=5)[1] or b""
            err = err_bytes.decode(errors="replace")[-2000:]
            raise SandboxError(f"the sandbox interpreter failed to start: {err.strip() or 'no output'}") from None
        if self.proc.stderr:
            self.proc.stderr.close()
        self.info = hello
        base = hello.get("baseline_mb")
        self.baseline_mb = base if isinstance(base, int) and not isinstance(base, bool) and 0 <= base < 1 << 20 else 0
        self._ready = True

    def address_space_mb(self, limits: ChildLimits) -> int:
        """A child's RLIMIT_AS: what the zygote already holds (numpy imported, measured
        on this machine) plus the assignment's ``memory_mb`` for the submission itself,
        so the headroom never depends on the machine's BLAS or core count."""
        return self.baseline_mb + limits.memory_mb

    def alive(self) -> bool:
        return self.proc.poll() is None

    def spawn(self, request: dict) -> tuple[int, socket.socket, int]:
        self.ctrl.settimeout(30)
        wire.send(self.ctrl, {"op": "spawn", **request})
        reply, _, fds = wire.recv(self.ctrl, max_total=1 << 16, with_fds=2)
        if reply.get("op") != "spawned" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise SandboxError(f"the sandbox answered {reply.get('op')!r} to spawn")
        return int(reply["pid"]), socket.socket(fileno=fds[0]), fds[1]

    def kill_child(self) -> bool:
        """Ask the zygote to SIGKILL its current child (only it knows the child's pid in
        its pid namespace). False if the zygote itself is gone or stuck."""
        try:
            self.ctrl.settimeout(5)
            wire.send(self.ctrl, {"op": "kill"})
            return True
        except OSError:
            return False

    def wait_exited(self, timeout: float) -> dict:
        self.ctrl.settimeout(timeout)
        reply, _, _ = wire.recv(self.ctrl, max_total=1 << 16)
        return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.ctrl.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.proc.stderr:  # still open if it was closed before its hello
            with contextlib.suppress(OSError):
                self.proc.stderr.close()


class Sandbox:
    """One zygote and the student processes it forks, one at a time.

    Not thread-safe: batch grading gives each worker thread its own Sandbox.
    """

    def __init__(self, scratch_root: Path | None = None, isolation: Isolation | None = None, hidden: list[Path] | None = None) -> None:
        self._own_tmp = scratch_root is None
        self.scratch_root = new_run_dir() if scratch_root is None else scratch_root
        self.isolation = isolation if isolation is not None else probe()
        self.hidden = [scratch_home()] + [Path(p).resolve() for p in (hidden or []) if Path(p).exists()]
        self._zygote: Zygote | None = None
        self._stage = self.scratch_root / "stage"
        self._staged = 0

    @property
    def zygote(self) -> Zygote:
        if self._zygote is None or not self._zygote.alive():
            if self._zygote is not None:
                self._zygote.close()
            self._zygote = Zygote(self.scratch_root, self.isolation, self.hidden)
        self._zygote.ready()  # a prestarted one: its hello (SandboxError if none)
        return self._zygote

    def prestart(self) -> None:
        """Start the zygote now without waiting for it: its Python and numpy start while
        the grader prepares the course (a single ``check`` pays them only once, overlapped).
        Nothing else changes: the first use waits for its hello as a new zygote would."""
        if self._zygote is None:
            self._zygote = Zygote(self.scratch_root, self.isolation, self.hidden, wait=False)

    def _stage_copy(self, path: Path, folder: Path | None) -> tuple[Path, Path | None, int]:
        """Copy the submission beside the scratch folders: the student process reads its
        own copy and never learns (or, under Landlock, may read) the class folder.

        Only regular files are copied, never through a link: a symlink to the reference
        or to /proc/self/environ, a FIFO or a device in a student's folder is left out
        (the copy runs with the grader's rights). The graded file itself must be a
        regular file. Beside it, at most STAGE_FILES files and STAGE_CAP bytes of the
        folder are copied, from the first STAGE_WALK entries: 20,000 empty files cost
        one student a bounded copy, once (issue 16). Returns the graded file's copy,
        the folder's copy and the number of files copied."""
        shutil.rmtree(self._stage, ignore_errors=True)
        self._staged += 1
        target = self._stage / f"s{self._staged}"
        target.mkdir(parents=True)
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

    def _stage_helpers(self, helpers: list[Path]) -> Path | None:
        """Copy the course's helper modules and data files (e.g. ``common.py``) into a
        folder of their own: the student process may read them, never the rest of the
        assignment folder (its reference solution)."""
        if not helpers:
            return None
        target = self._stage / "course"
        target.mkdir(parents=True, exist_ok=True)
        for helper in helpers:
            if Path(helper).is_dir():
                shutil.copytree(helper, target / Path(helper).name, dirs_exist_ok=True, symlinks=False)
            else:
                shutil.copyfile(helper, target / Path(helper).name)
        return target

    def stage(self, path: Path, folder: Path | None = None, helpers: list[Path] | None = None) -> Staged:
        """Copy one submission (and the course's helpers) into the sandbox, once for all
        the processes it will run (a restart after a crash reuses the copy). Staging the
        next submission removes this one's copy."""
        try:
            staged, staged_folder, files = self._stage_copy(path, folder)
            course = self._stage_helpers(helpers or [])
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
    ) -> StudentProcess:
        """Start a process for a submission (staged now unless ``staged`` is given) and
        wait for it to load. ``packages``: the course's packages it may import besides
        numpy; ``stubs``: plotting packages replaced by inert stand-ins.

        If the sandbox fails to prepare the process (before any student code runs), the
        zygote is restarted and the process started once more; a second failure raises
        :class:`SandboxFailure` (the grader's fault, never a student's result)."""
        if staged is None:
            staged = self.stage(path, folder, helpers)
        env = course_environment(packages, stubs)  # raises MissingPackageError first
        failure = ""
        for _attempt in range(2):
            try:
                proc = self._start_once(staged, module, functions, limits, output_cap, load_timeout, env)
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
    ) -> StudentProcess:
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
            "scratch_cap": None if self.isolation.has("namespaces") else SCRATCH_CAP,
            # The student's own folder first (their helper modules), then the course's
            # helpers; both after site-packages, so neither can shadow numpy.
            "sys_path": ([str(staged_folder)] if staged_folder else []) + ([str(course)] if course else []),
            "imports": env.request(),
            "layers": {
                "landlock": self.isolation.has("landlock"),
                "seccomp": self.isolation.has("seccomp"),
                "read": list(zygote.info.get("read_paths", [])) + readable,
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
        proc._await_load(load_timeout)
        return proc

    def close_zygote(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def close(self) -> None:
        self.close_zygote()
        if self._own_tmp:
            import shutil

            shutil.rmtree(self.scratch_root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class LoadReport:
    ok: bool
    problem: Problem | None = None
    functions: dict[str, dict] = field(default_factory=dict)
    elapsed: float = 0.0


class StudentProcess:
    """One running student module: call its functions, then close it."""

    def __init__(self, sandbox: Sandbox, pid: int, sock: socket.socket, out_fd: int, cap: int, max_out: int) -> None:
        self.sandbox, self.pid, self.sock = sandbox, pid, sock
        self._reader = wire.Reader(sock)
        self._drain = _Drain(out_fd, cap)
        self._drain.start()
        self._max_msg = 128 << 20  # one reply, a batch of calls included
        self._max_blob = max_out + 4096  # one array: the child refuses more, so more is forged
        self.dead = False
        self.cpu_limit = 1 << 30
        # Decoded arrays are float64 whatever was sent (a bool array of n bytes becomes
        # 8n): the caps count decoded bytes, per output, per reply and per submission.
        self._max_elements = max(1, max_out // 8)
        self.decode_left = SUBMISSION_DECODE_CAP  # the Session carries it across restarts
        self.setup_failure: str | None = None  # why the sandbox failed before student code ran
        self.address_space_mb = 0
        self.exit: ExitInfo | None = None
        self.load = LoadReport(False)
        self.staged_prefix = ""  # the staged copy's folder, as the student's process sees it

    # -- lifecycle

    def _kill(self) -> None:
        zyg = self.sandbox._zygote
        if zyg is None or not zyg.kill_child():
            self.sandbox.close_zygote()  # the whole sandbox goes, and the child with it

    def _reap(self, timeout: float = 5.0) -> ExitInfo:
        """Collect the zygote's report of how the process ended (killing it if needed)."""
        if self.exit is not None:
            return self.exit
        with contextlib.suppress(OSError):
            self.sock.close()
        zyg = self.sandbox._zygote
        info = ExitInfo()
        if zyg is not None:
            try:
                try:
                    reply = zyg.wait_exited(timeout)
                except TimeoutError:
                    self._kill()
                    reply = zyg.wait_exited(10.0)
                cpu = reply.get("cpu_s")
                info = ExitInfo(
                    exit_code=reply.get("exit_code") if isinstance(reply.get("exit_code"), int) else None,
                    signal_name=str(reply["signal_name"])[:20] if reply.get("signal_name") else None,
                    cpu_s=float(cpu) if isinstance(cpu, (int, float)) else 0.0,
                    killed_by_grader=reply.get("killed_by_grader") is True,
                    reason=sanitize(str(reply["reason"]))[:200] if reply.get("reason") else None,
                )
            except (EOFError, OSError, wire.WireError):
                self._kill()
                self.sandbox.close_zygote()
        self.dead = True
        self.exit = info
        self._drain.join(timeout=2.0)
        return info

    def close(self) -> ExitInfo:
        return self._reap()

    def output(self) -> str:
        """The captured stdout/stderr so far (first bytes only), for display, never for
        scoring; the sandbox's staging folder is cut from paths (``softmax.py:27: …``)."""
        text = self._drain.text()
        return text.replace(self.staged_prefix, "") if self.staged_prefix else text

    @property
    def output_kept(self) -> int:
        """How many bytes of output were kept (of the cap this process was given)."""
        return len(self._drain.kept)

    # -- protocol

    def _receive(self, timeout: float, deadline: float | None = None) -> tuple[dict, list[bytes]] | Problem:
        """The next message, within ``timeout`` seconds (or by ``deadline``, if given:
        ``timeout`` is then only what the message says)."""
        if deadline is None:
            deadline = time.monotonic() + max(timeout, 0.001)
        try:
            msg, blobs = self._reader.recv(max_total=self._max_msg, max_blob=self._max_blob, deadline=deadline)
            return msg, blobs
        except TimeoutError:
            self._kill()
            self._reap()
            return Problem("timeout", f"did not finish within {timeout:.3g} s (wall clock); stopped")
        except wire.WireError as exc:
            self._kill()
            self._reap()
            return Problem("crashed", f"sent a malformed reply ({exc})")
        except (EOFError, OSError):
            info = self._reap()
            # SIGXCPU, or SIGKILL at the hard CPU limit, is a time-out; a SIGKILL the
            # submission sent itself (or the kernel's OOM killer) is a crash.
            at_cpu_limit = info.cpu_s >= self.cpu_limit - 1.0
            if info.signal_name == "SIGXCPU" or (info.signal_name == "SIGKILL" and at_cpu_limit):
                return Problem("timeout", f"{info.describe()}: CPU time limit reached")
            return Problem("crashed", info.describe())

    def _await_setup(self, timeout: float) -> bool:
        """The child's first message, sent after its sandbox is in place and before any
        student code runs. Anything else (the process died, hung or said otherwise) is
        the sandbox's failure, recorded in ``setup_failure``."""
        try:
            msg, _ = self._reader.recv(max_total=1 << 16, max_blob=0, deadline=time.monotonic() + max(timeout, 0.001))
            if msg.get("op") == "setup" and msg.get("ok") is True:
                return True
            why = "it sent an unexpected first message"
        except TimeoutError:
            why = f"it did not finish its set-up within {timeout:.3g} s"
        except (EOFError, OSError, wire.WireError):
            why = ""
        self._kill()
        info = self._reap()
        if not why:
            why = (f"killed by {info.signal_name}" if info.signal_name
                   else f"exit status {info.exit_code}" if info.exit_code is not None else "the sandbox stopped")
        said = [line for line in self._drain.text().strip().splitlines() if line.strip()][-1:]
        self.setup_failure = why + (f" ({said[0][:300]})" if said else "")
        self.load = LoadReport(False, Problem("crashed", "the sandbox failed before the submission ran"))
        return False

    def _await_load(self, timeout: float) -> None:
        start = time.perf_counter()
        if not self._await_setup(timeout):
            return
        got = self._receive(max(timeout - (time.perf_counter() - start), 0.001))
        elapsed = time.perf_counter() - start
        if isinstance(got, Problem):
            self.load = LoadReport(False, got, elapsed=elapsed)
            return
        msg, _ = got
        if msg.get("ok"):
            funcs = msg.get("functions")
            self.load = LoadReport(True, functions=funcs if isinstance(funcs, dict) else {}, elapsed=elapsed)
        else:
            self.load = LoadReport(False, _problem(msg.get("error")), elapsed=elapsed)

    def call(self, function: str, args: list[Any], outputs: list[str], timeout: float) -> Returned | Problem:
        """Call ``function(*args)`` in the student process; a Problem if it produced nothing."""
        return self.call_many(function, [args], outputs, timeout)[0]

    def call_many(
        self,
        function: str,
        arg_lists: list[list[Any]],
        outputs: list[str],
        timeout: float,
        want: list[str] | None = None,
        deadline: float | None = None,
    ) -> list[Returned | Problem]:
        """Several calls of ``function`` sent in one message; the process replies to each
        as it finishes. ``timeout`` is each call's limit, ``deadline`` (``time.monotonic``)
        a limit for all of them (a submission's budget); ``want``: the outputs to send
        back (the others are computed but not transferred).

        An exception in one call does not stop the others. A call that times out or
        kills the process keeps the replies before it; the calls after it are not run
        and get a Problem of the same kind that says so."""
        if self.dead:
            return [Problem("crashed", "the submission's process is no longer running")] * len(arg_lists)
        blobs: list[bytes] = []
        seen: dict[int, int] = {}
        calls = []
        for args in arg_lists:
            specs, _ = _encode_args(args, blobs, seen)
            calls.append({"function": function, "args": specs, "outputs": outputs, **({"want": want} if want else {})})
        # The socket still holds the last read's (short) time-out: give the send its own.
        # A process that stops reading its input is stopped like one that does not reply.
        send_limit = max(timeout, 5.0)
        self.sock.settimeout(send_limit)
        try:
            wire.send(self.sock, {"op": "calls", "calls": calls}, blobs)
        except TimeoutError:
            self._kill()
            self._reap()
            return [Problem("timeout", f"did not read its input within {send_limit:.3g} s; stopped")] * len(arg_lists)
        except OSError:
            info = self._reap()
            return [Problem("crashed", info.describe())] * len(arg_lists)
        results: list[Returned | Problem] = []
        for _ in arg_lists:
            start = time.perf_counter()
            due = time.monotonic() + max(timeout, 0.001)
            got = self._receive(timeout, due if deadline is None else min(due, deadline))
            elapsed = time.perf_counter() - start
            if not isinstance(got, Problem):
                msg, data = got
                if msg.get("op") == "result":
                    results.append(self._parse(msg.get("result"), outputs, data, elapsed, want))
                    continue
                self._kill()
                self._reap()
                got = Problem("crashed", "the sandboxed process sent a malformed reply")
            results.append(got)
            left = len(arg_lists) - len(results)
            if left:
                skipped = Problem(got.kind, f"not run: an earlier call of {function} failed ({got.message})")
                results.extend([skipped] * left)
            break
        return results

    def _parse(
        self, msg: Any, outputs: list[str], data: list[bytes], elapsed: float, want: list[str] | None = None
    ) -> Returned | Problem:
        """One call's reply. Everything not asked for is refused before any decoding: an
        array for an output not in ``want``, an array no output names, or one named
        twice. Decoded bytes are capped per reply and per submission (``decode_left``)."""
        if not isinstance(msg, dict):
            return Problem("crashed", "the sandboxed process sent a malformed reply")
        if not msg.get("ok"):
            if data:
                return Problem("crashed", "the sandboxed process sent arrays it was not asked for")
            return _problem(msg.get("error"))
        wanted = set(want or outputs)
        outs_raw = msg.get("outputs")
        if isinstance(outs_raw, list):
            named = [o.get("blob") for o in outs_raw if isinstance(o, dict) and "blob" in o]
            unasked = [o for o, n in zip(outs_raw, outputs) if isinstance(o, dict) and "blob" in o and n not in wanted]
            if unasked or sorted(x for x in named if isinstance(x, int)) != list(range(len(data))) or len(named) != len(data):
                return Problem("crashed", "the sandboxed process sent arrays it was not asked for")
        reply_left = REPLY_DECODE_CAP
        outs = msg.get("outputs")
        if not isinstance(outs, list) or len(outs) != len(outputs):
            return Problem("crashed", "the sandboxed process sent a malformed reply")
        values: list[np.ndarray | None] = []
        types: list[str] = []
        problems: list[Problem | None] = []
        for name, out in zip(outputs, outs):
            if not isinstance(out, dict):
                return Problem("crashed", "the sandboxed process sent a malformed reply")
            types.append(sanitize(str(out.get("type", "?"))[:100]))
            if out.get("skipped") is True:
                values.append(None)
                problems.append(None)
                continue
            if "error" in out:
                values.append(None)
                problems.append(_problem(out["error"]))
                continue
            index = out.get("blob")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(data):
                return Problem("crashed", "the sandboxed process sent a malformed reply")
            left = min(reply_left, self.decode_left)
            if left < 8:  # nothing left for this reply or this submission
                values.append(None)
                problems.append(Problem("too-large", f"{name}: the submission sent more array data than the grader accepts"))
                continue
            try:
                value = decode_array(data[index], max_elements=max(1, min(self._max_elements, left // 8)))
                values.append(value)
                problems.append(None)
                reply_left -= value.nbytes
                self.decode_left -= value.nbytes
            except DecodeError as exc:
                values.append(None)
                problems.append(Problem("wrong-type", f"{name} could not be decoded: {exc}"))
        return Returned(tuple(values), tuple(types), tuple(problems), elapsed)
