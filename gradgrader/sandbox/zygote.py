"""The grader's side of the zygote: start it, wait for its hello, ask it to fork,
kill or report on a student process (the zygote itself is ``_zygote.py``)."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gradgrader.errors import SandboxError
from gradgrader.sandbox import _wire as wire
from gradgrader.sandbox import staging
from gradgrader.sandbox.bwrap import forget_probe, namespace_args

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gradgrader.sandbox.model import ChildLimits

ZYGOTE = Path(__file__).with_name("_zygote.py")
# What the zygote loads by path: itself and its siblings (``_zygote.py``'s docstring).
ZYGOTE_MODULES = ("_zygote", "_wire", "_landlock", "_confine", "_scratch", "_child")

# The zygote runs ``_zygote.py`` through this loader rather than as a script: Python
# compiles a script on every run but loads a module's cached bytecode (sys.argv becomes
# what the script would see: its path, then the control descriptor).
LAUNCH = (
    "import sys, importlib.util as u\n"
    "sys.argv = sys.argv[1:]\n"
    "s = u.spec_from_file_location('__main__', sys.argv[0])\n"
    "m = sys.modules['__main__'] = u.module_from_spec(s)\n"
    "s.loader.exec_module(m)\n"
)


@functools.cache
def cache_bytecode() -> None:
    """Write the bytecode cache of the zygote's modules where it is missing or stale.

    The zygote runs with ``-B`` under a read-only root: it reads a module's cached
    bytecode but never writes it, and nothing else imports ``_child``, ``_confine``,
    ``_scratch`` or ``_zygote``, so in a checkout or an editable install every zygote
    compiled ~900 lines (~14 ms of each start, #17; a wheel's install writes them).
    Written where the zygote (``-I``: no PYTHONPYCACHEPREFIX) looks, in timestamp form,
    as an import would; never when bytecode is not to be written (``-B``,
    PYTHONDONTWRITEBYTECODE), and a folder that cannot be written costs only the time."""
    if sys.dont_write_bytecode:
        return
    stale = []
    for name in ZYGOTE_MODULES:
        source = ZYGOTE.with_name(f"{name}.py")
        cached = source.parent / "__pycache__" / f"{name}.{sys.implementation.cache_tag}.pyc"
        try:
            if not _fresh(source, cached):
                stale.append((source, cached))
        except OSError:
            continue
    if not stale:
        return  # the usual case: py_compile (and traceback) not imported before the spawn (~3 ms)
    import py_compile

    for source, cached in stale:
        try:
            py_compile.compile(str(source), cfile=str(cached), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
        except (OSError, py_compile.PyCompileError):
            continue


def _fresh(source: Path, cached: Path) -> bool:
    """Whether ``cached`` is the bytecode an import would accept for ``source``: this
    Python's magic number, timestamp form, the source's modification time and size."""
    try:
        with cached.open("rb") as f:
            header = f.read(16)
    except OSError:
        return False
    st = source.stat()
    return (
        len(header) == 16
        and header[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(header[4:8], "little") == 0
        and int.from_bytes(header[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(header[12:16], "little") == st.st_size & 0xFFFFFFFF
    )

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


class Zygote:
    """The pre-started process that forks student processes (see ``_zygote.py``)."""

    HELLO_TIMEOUT = 60.0  # seconds to start Python, import numpy and say hello

    def __init__(
        self, scratch_root: Path, namespaces: bool, hidden: list[Path], wait: bool = True, warm: bool = False
    ) -> None:
        """Start the zygote, under bubblewrap's namespaces if ``namespaces`` (the
        isolation's namespaces layer: all its command depends on); ``wait=False`` returns
        at once (its Python starts and imports numpy while the grader goes on) and
        :meth:`ready` waits for its hello; ``warm``: it runs a student's call path once
        before its first fork (``_child.warm_up``: a batch's zygote)."""
        self.scratch_root = scratch_root
        self.baseline_mb = 0
        self.namespaces = namespaces
        ours, theirs = socket.socketpair()
        cache_bytecode()
        command = [sys.executable, "-I", "-B", "-c", LAUNCH, str(ZYGOTE), str(theirs.fileno())] + (["warm"] if warm else [])
        (scratch_root / "work").mkdir(exist_ok=True)
        if namespaces:
            bwrap = shutil.which("bwrap") or "bwrap"
            # The students' scratch folders live on a tmpfs capped in size: a disk-filling
            # submission fills only that.
            cap = ["--size", str(staging.SCRATCH_CAP), "--tmpfs", str(scratch_root / "work")]
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
        self.killed = False
        if wait:
            self.ready()

    def starting(self) -> bool:
        """Whether its hello has yet to come (without waiting for it)."""
        if self._ready:
            return False
        poller = select.poll()  # not select(): descriptor numbers above 1023 are fine
        try:
            poller.register(self.ctrl.fileno(), select.POLLIN | select.POLLHUP)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False  # ready() says what is wrong

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
            again = ""
            if self.namespaces:
                # The probe may be a remembered answer that is no longer true: the next
                # run probes again (and says so if bubblewrap now fails), never weaker.
                forget_probe()
                again = "; bubblewrap will be checked again on the next run (`gradgrader doctor` shows the layers)"
            raise SandboxError(f"the sandbox interpreter failed to start: {err.strip() or 'no output'}{again}") from None
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
        """Whether it runs and was not stopped (:meth:`kill`: it may take a moment to end)."""
        return not self.killed and self.proc.poll() is None

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

    def kill(self) -> None:
        """Stop the zygote (and bubblewrap, and whatever still runs in its sandbox)
        without waiting for it to end: the kernel tears it down on another core while
        this process goes on. :meth:`close` reaps it (a single check kills its sandbox
        once graded and reaps it after showing the result, #17)."""
        self.killed = True
        with contextlib.suppress(OSError):
            self.ctrl.close()
        if self.proc.returncode is not None:
            return  # closed (reaped) already: its pid may belong to another process now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its pid stays ours until reaped

    def close(self) -> None:
        """Stop the zygote and reap it."""
        self.kill()
        if self.proc.returncode is not None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.proc.stderr:  # still open if it was closed before its hello
            with contextlib.suppress(OSError):
                self.proc.stderr.close()


def start_in_new_run(namespaces: bool, hidden: Iterable[Path]) -> tuple[Path, Path, list[Path], Zygote]:
    """Start a zygote hiding ``hidden`` in a new run folder, without waiting for it: the
    run folder, the zygote's own folder in it, the folders it hides and the zygote.
    Imports no dataclass and no ctypes, so that a check spawns it early (#17)."""
    run_dir = staging.new_run_dir()
    folder = staging.worker_folder(run_dir)
    folder.mkdir()
    held = staging.hidden_folders(hidden)
    try:
        zygote = Zygote(folder, namespaces, held, wait=False)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir, folder, held, zygote


def stop_run(run_dir: Path, zygote: Zygote) -> None:
    """Stop a zygote :func:`start_in_new_run` started and remove its run folder."""
    zygote.close()
    shutil.rmtree(run_dir, ignore_errors=True)
