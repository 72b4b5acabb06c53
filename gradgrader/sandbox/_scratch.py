"""The zygote's care of a finished or running child: waiting for it while obeying the
grader's kill, watching its scratch folder (when there is no size-capped tmpfs),
killing what it left behind, removing its scratch folder, describing how it ended.

Loaded by path inside the zygote (``_zygote._load_sibling``, which sets ``wire``):
standard library only, never gradgrader.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import sys
from typing import Any

wire: Any = None  # the sibling _wire.py, set by _zygote._load_sibling once this is loaded

def kill_descendants() -> None:
    """Kill every process re-parented to us (we are their subreaper) and reap them."""
    me = os.getpid()
    for _ in range(100):
        victims = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if int(fields[1]) == me:
                victims.append(int(entry))
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in victims:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def exit_status(status: int) -> dict:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return {"signal": sig, "signal_name": name}
    return {"exit_code": os.waitstatus_to_exitcode(status)}


SCRATCH_ENTRIES = 4096  # files and folders a scratch folder may hold (watched mode)
WATCH_EVERY = 0.05  # seconds between two measurements of a watched scratch folder


def _scratch_use(folder: str, max_entries: int, pid: int | None = None) -> tuple[int, int]:
    """Bytes allocated beneath ``folder`` and the number of entries, counting stopped
    at ``max_entries`` + 1 (a folder of a million empty files is not walked).

    The walk goes by directory descriptors (any depth of long names), and a folder it
    cannot list is reported as -1 entries, over every cap (a child that hides its files by taking away
    the read permission is stopped). An entry the running child removes (or replaces)
    while it is walked is skipped, not taken for one it cannot read: a submission that
    writes and deletes temporary files is not stopped for it. With ``pid``, files the
    process still holds open after deleting them count too."""
    used = entries = 0
    over = (0, -1)  # a folder it cannot list
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        stack = [os.open(folder, flags)]
    except OSError:
        return 0, 0  # already gone
    try:
        while stack and entries <= max_entries:
            fd = stack.pop()
            try:
                with os.scandir(fd) as it:
                    for entry in it:
                        entries += 1
                        try:
                            st = entry.stat(follow_symlinks=False)
                            used += st.st_blocks * 512
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(os.open(entry.name, flags, dir_fd=fd))
                        except (FileNotFoundError, NotADirectoryError):
                            pass  # removed or replaced since it was listed: gone, not hidden
                        if entries > max_entries:
                            break
            except OSError:
                return over
            finally:
                os.close(fd)
    finally:
        for fd in stack:
            os.close(fd)
    if pid is not None:
        used += _deleted_open_files(pid)
    return used, entries


def _deleted_open_files(pid: int) -> int:
    """Bytes of files ``pid`` holds open that have no name any more."""
    total = 0
    base = f"/proc/{pid}/fd"
    try:
        names = os.listdir(base)
    except OSError:
        return 0
    for name in names:
        try:
            if os.readlink(f"{base}/{name}").endswith(" (deleted)"):
                total += os.stat(f"{base}/{name}").st_blocks * 512
        except OSError:
            continue
    return total


def remove_scratch(folder: str) -> None:
    """Delete a child's scratch folder, giving back any permission it took away."""

    def retry(func, path, _exc) -> None:  # noqa: ANN001
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=retry)


def _kill_child(pid: int) -> None:
    """SIGKILL the child and its process group (it may have left its group: both)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_or_kill(ctrl: socket.socket, pid: int, scratch: str | None = None, cap: int | None = None) -> tuple[int, float, bool, str | None]:
    """Wait for the child; meanwhile obey {"op": "kill"} from the grader (pids inside a
    pid namespace mean nothing outside it, so only the zygote may signal its child).
    With ``cap`` (no size-capped tmpfs, i.e. no namespaces), also measure ``scratch``
    every WATCH_EVERY s and kill the child once it holds more than ``cap`` bytes or
    SCRATCH_ENTRIES entries: a disk-filling submission is stopped within a fraction of
    a second of writing (at most that long past the cap, at the disk's write speed).

    Returns the wait status, the CPU seconds the child used, whether we killed it, and
    why, if the watcher did."""
    killed = False
    why: str | None = None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    wait = None if pidfd is not None else 0.02
    if cap is not None:
        wait = WATCH_EVERY if wait is None else min(wait, WATCH_EVERY)
    try:
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, usage.ru_utime + usage.ru_stime, killed, why
            if cap is not None and scratch is not None and why is None:
                used, entries = _scratch_use(scratch, SCRATCH_ENTRIES, pid)
                if used > cap or entries > SCRATCH_ENTRIES or entries < 0:
                    why = (
                        "it made part of its scratch folder unreadable to the grader"
                        if entries < 0
                        else f"it wrote more than {cap >> 20} MiB into its scratch folder"
                        if used > cap
                        else f"it created more than {SCRATCH_ENTRIES} files in its scratch folder"
                    )
                    killed = True
                    _kill_child(pid)
            poller = select.poll()  # not select(): descriptor numbers above 1023 are fine
            poller.register(ctrl.fileno(), select.POLLIN | select.POLLHUP)
            if pidfd is not None:
                poller.register(pidfd, select.POLLIN)
            ready = {fd for fd, _ in poller.poll(None if wait is None else int(wait * 1000))}
            if ctrl.fileno() in ready:
                try:
                    msg, _, _ = wire.recv(ctrl)
                except EOFError:
                    msg = {"op": "kill", "then": "exit"}
                if msg.get("op") == "kill":
                    killed = True
                    _kill_child(pid)
                    if msg.get("then") == "exit":
                        os.waitpid(pid, 0)
                        sys.exit(0)
    finally:
        if pidfd is not None:
            os.close(pidfd)
