"""The sandbox's pre-started process: imports numpy once, forks one child per submission.

Run as ``python -I -B _zygote.py CONTROL_FD [warm]`` by :mod:`gradgrader.sandbox.zygote`
(through a loader that uses its cached bytecode, as for its siblings); ``warm``: run
``_child.warm_up`` once before the first fork (a batch's zygote).
It imports only the standard library and numpy — never gradgrader, the reference,
hidden inputs or expected values — so a forked child holds none of them in memory.

Per submission the grader sends ``spawn``; the zygote forks a child that
  * becomes its own session and process group, dies with the zygote (PDEATHSIG);
  * gets stdin from /dev/null and stdout/stderr into a pipe the grader drains;
  * runs in a fresh scratch folder under rlimits (address space, CPU, file size,
    open files, no core dumps) with a scrubbed environment;
  * imports the student's file, reports what it defines, then answers ``call``
    requests with plain ``.npy`` arrays until told to stop.
The zygote hands the grader one end of a socket pair and the output pipe, waits for
the child, kills anything the child left behind (the zygote is their subreaper), and
reports how the child ended.

Its siblings are loaded by file, all of them here, before any fork (a child confined
by Landlock could no longer read them): ``_wire`` (framing), ``_landlock``,
``_confine`` (prctl, seccomp, capabilities), ``_scratch`` (waiting for a child,
watching and removing its scratch folder) and ``_child`` (the child's side).
"""

from __future__ import annotations

import importlib.util
import os
import resource
import signal
import socket
import stat
import sys
import traceback
from typing import Any

import numpy as np

_here = os.path.dirname(os.path.abspath(__file__))


def _load_sibling(name: str, **siblings: Any) -> Any:
    """Load ``{name}.py`` from this folder by path (the zygote imports nothing of
    gradgrader); ``siblings``, the modules it uses, are then set as its globals."""
    spec = importlib.util.spec_from_file_location(f"_gradgrader_{name}", os.path.join(_here, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__dict__.update(siblings)
    return module


wire = _load_sibling("_wire")
landlock = _load_sibling("_landlock")
confine = _load_sibling("_confine")
scratches = _load_sibling("_scratch", wire=wire)
child = _load_sibling("_child", wire=wire, landlock=landlock, confine=confine)
_site_packages = confine.site_packages

# The seccomp filter, prepared once by the zygote: "base", the rules shared by every
# child, and "template", the whole filter compiled with a stand-in for the child's pid.
_SECCOMP: dict = {}

# The read-only paths every child may read, opened once by the zygote (see
# ``_landlock.prepare``): path → (O_PATH descriptor, is a folder, its rule).
_PREPARED: dict[str, tuple[int, bool, Any]] = {}

# The same paths as found by ``read_paths`` (sent to the grader once, in the hello): a
# spawn whose layers say ``read_own`` gets them before its own ``read`` paths.
_READ_PATHS: list[str] = []


FD_HEADROOM = 256  # descriptors the zygote keeps free for its own work (sockets, pipes)


def _room_for(n: int) -> bool:
    """Whether ``n`` more descriptors fit under RLIMIT_NOFILE with headroom to spare,
    raising the soft limit towards the hard one if needed. If not, the paths are not
    prepared and each child opens them itself (slower, same rules)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = n + FD_HEADROOM + 64
    if soft != resource.RLIM_INFINITY and soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else min(need, hard), hard))
        except (ValueError, OSError):
            return False
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft == resource.RLIM_INFINITY or soft >= need


def read_paths() -> list[str]:
    """What a student process may read: the interpreter's standard library, the
    installed packages (each one separately, never gradgrader itself, whose data may
    hold reference solutions), shared libraries and a few devices."""
    import sysconfig

    where = sysconfig.get_paths()
    found = _Entries()
    # The standard library's folders, entry by entry: in a virtualenv (and in some
    # distributions) site-packages lives inside them, and it must not come in whole.
    for d in {where["stdlib"], where["platstdlib"], os.path.dirname(os.__file__)}:
        found.add_entries(d, lambda e: e not in {"site-packages", "dist-packages"})
    # numpy's own files only: the course's other packages are added per assignment by
    # the grader (gradgrader/sandbox/environment.py), and any other installed package
    # stays unreadable (never gradgrader itself).
    for d in {where["purelib"], where["platlib"], os.path.dirname(os.path.dirname(np.__file__))}:
        found.add_entries(d, lambda e: e.lower() == "numpy" or e.lower().startswith(("numpy-", "numpy.")))
    # Shared libraries, without any Python installation's packages beneath them.
    for d in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib"):
        found.add_entries(d, lambda e: not e.startswith("python"))
    for p in ("/dev/null", "/dev/urandom", "/dev/zero", "/etc/ld.so.cache", "/usr/share/zoneinfo"):
        found.add(p, os.path.realpath(p) if os.path.exists(p) else None)
    return sorted(found.allowed())


class _Entries:
    """Candidate paths with their real paths (``None``: the path does not exist), found
    without resolving each one from the root: a zygote's ~450 entries each took
    ``os.path.realpath``'s walk of every component (~6 ms of every sandbox's start, #17).
    An entry that is not a symbolic link has its folder's real path plus its name; a link
    is resolved as before. :meth:`allowed` keeps the existing ones that neither are nor
    hold a site-packages folder — what resolving each path from the root would keep
    (tests/test_sandbox_zygote.py compares the two)."""

    def __init__(self) -> None:
        self._real: dict[str, str | None] = {}

    def add(self, path: str, real: str | None) -> None:
        self._real[path] = real

    def add_entries(self, folder: str, wanted: Any) -> None:
        try:
            entries = os.listdir(folder)
        except OSError:
            return
        real_folder = os.path.realpath(folder)
        for entry in entries:
            if not wanted(entry):
                continue
            path = os.path.join(folder, entry)
            try:
                link = stat.S_ISLNK(os.lstat(path).st_mode)
            except OSError:
                continue
            if link:
                self.add(path, os.path.realpath(path) if os.path.exists(path) else None)
            else:
                self.add(path, os.path.join(real_folder, entry))

    def allowed(self) -> list[str]:
        held = _folders_holding_packages()
        return [p for p, real in self._real.items() if real is not None and real not in held]


def _folders_holding_packages() -> set[str]:
    """The real paths of this interpreter's site-packages folders and of every folder
    above them."""
    held = set()
    for sp in _site_packages():
        while True:
            held.add(sp)
            parent = os.path.dirname(sp)
            if parent == sp:
                break
            sp = parent
    return held


def baseline_mb() -> int:
    """This process's address space in MiB, numpy imported: what every forked child has
    before the submission allocates anything. It varies with the machine (BLAS buffers,
    thread arenas, the number of cores), so the grader adds it to the assignment's
    ``memory_mb`` instead of counting it against the student (0 if unknown)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return (int(line.split()[1]) + 1023) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main() -> None:
    """Set up once (die with the grader, adopt orphans, prepare what every child
    needs), say hello with what this interpreter offers, then serve ``spawn``s."""
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    have_subreaper = confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1) and os.path.isdir("/proc")
    paths = read_paths()
    _READ_PATHS.extend(paths)
    _prepare_children(paths)
    wire.send(ctrl, _hello(paths, have_subreaper))
    if sys.argv[2:3] == ["warm"]:
        # A batch's zygote: its children's first calls start warm (a single check's
        # would only wait longer for its one child).
        try:
            child.warm_up()
        except Exception:  # noqa: BLE001 - only an optimisation: the children warm up themselves
            pass
    _serve(ctrl, have_subreaper)


def _prepare_children(paths: list[str]) -> None:
    """What every child would otherwise build after its fork: the read-only paths'
    descriptors for Landlock and the shared rules of the seccomp filter."""
    if landlock.abi_version() >= 1 and _room_for(len(paths)):
        _PREPARED.update(landlock.prepare(paths))
    if confine.pyseccomp is not None:
        try:
            _SECCOMP["base"] = confine.seccomp_base()
        except (RuntimeError, ValueError, OSError):
            return  # each child builds its own (and reports if it cannot)
        try:
            _SECCOMP["template"] = confine.seccomp_template()
        except (RuntimeError, ValueError, OSError, AttributeError):
            pass  # each child compiles the base filter with its own rules


def _hello(paths: list[str], have_subreaper: bool) -> dict:
    """The ``ready`` message: versions, layers available, read paths, baseline memory."""
    return {
        "op": "ready",
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "subreaper": bool(have_subreaper),
        "landlock": landlock.abi_version(),
        "seccomp": confine.pyseccomp is not None,
        "seccomp_compiled": _SECCOMP.get("template") is not None,  # once, not per child
        "read_paths": paths,
        "baseline_mb": baseline_mb(),
    }


def _serve(ctrl: socket.socket, have_subreaper: bool) -> None:
    """Obey the grader: one child per ``spawn``, until it closes the socket."""
    while True:
        try:
            req, _, _ = wire.recv(ctrl)
        except EOFError:
            return
        if req.get("op") == "kill":
            continue  # a kill that crossed the child's own exit
        if req.get("op") != "spawn":
            return
        _run_child(ctrl, req, have_subreaper)


def _run_child(ctrl: socket.socket, req: dict, have_subreaper: bool) -> None:
    """Fork one child, hand the grader its socket and output pipe, wait for it, clean up
    after it and report how it ended."""
    layers = req.get("layers")
    if isinstance(layers, dict) and layers.pop("read_own", False):
        layers["read"] = _READ_PATHS + list(layers.get("read", []))
    scratch = _new_scratch(req["scratch_root"])
    pid = _fork(ctrl, scratch, req)
    cap = req.get("scratch_cap")
    status, cpu, killed, why = scratches.wait_or_kill(ctrl, pid, scratch, cap if isinstance(cap, int) else None)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if have_subreaper:
        scratches.kill_descendants()
    scratches.remove_scratch(scratch)
    exited = {"op": "exited", "pid": pid, "cpu_s": round(cpu, 3), "killed_by_grader": killed, **scratches.exit_status(status)}
    if why:
        exited["reason"] = why
    wire.send(ctrl, exited)


_SCRATCHES = [0]  # scratch folders made so far: the next one's number


def _new_scratch(root: str) -> str:
    """A new folder ``sub-N`` under ``root`` (mode 0700, made by an exclusive ``mkdir``: a
    name already there is skipped), as ``tempfile.mkdtemp`` would make one, without
    importing ``tempfile`` (see ``_confine._import_pyseccomp``)."""
    for _ in range(10_000):
        _SCRATCHES[0] += 1
        path = os.path.join(root, f"sub-{_SCRATCHES[0]}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return os.path.abspath(path)
    raise FileExistsError(f"no free name for a scratch folder under {root}")


def _fork(ctrl: socket.socket, scratch: str, req: dict) -> int:
    """Fork the child and send the grader ``spawned`` with its ends of the socket pair
    and of the output pipe; the child never returns from here."""
    parent_sock, child_sock = socket.socketpair()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the zygote's loop
        code = 0
        try:
            ctrl.close()
            parent_sock.close()
            os.close(out_r)
            child.child_main(child_sock, out_w, scratch, req, _PREPARED, _SECCOMP)
        except BaseException:  # noqa: BLE001
            code = 70  # EX_SOFTWARE: the sandbox's own code failed; say why on stderr
            try:
                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            os._exit(code)
    child_sock.close()
    os.close(out_w)
    wire.send(ctrl, {"op": "spawned", "pid": pid}, fds=[parent_sock.fileno(), out_r])
    parent_sock.close()
    os.close(out_r)
    return pid


if __name__ == "__main__":
    main()
