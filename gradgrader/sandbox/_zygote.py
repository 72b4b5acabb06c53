"""The sandbox's pre-started process: imports numpy once, forks one child per submission.

Run as ``python -I -B _zygote.py CONTROL_FD`` by :mod:`gradgrader.sandbox.runner`.
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
"""

from __future__ import annotations

import ctypes
import errno
import functools
import importlib.util
import inspect
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import traceback
from typing import Any

import numpy as np

_here = os.path.dirname(os.path.abspath(__file__))


def _load_sibling(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_gradgrader_{name}", os.path.join(_here, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire = _load_sibling("_wire")
landlock = _load_sibling("_landlock")
try:  # optional: libseccomp through ctypes
    import pyseccomp
except Exception:  # noqa: BLE001 - missing package or missing libseccomp
    pyseccomp = None

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_prctl: Any
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def prctl(option: int, value: int) -> bool:
    return _prctl is not None and _prctl(option, value, 0, 0, 0) == 0


# --------------------------------------------------------------------------- child side


def _npy(arr: np.ndarray) -> bytes:
    """Encode a float/int/bool array as .npy 1.0 bytes (no pickle, C order)."""
    arr = np.array(arr, order="C", copy=True)
    header = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (arr.dtype.str, arr.shape)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + arr.tobytes()


def _student_frames(tb, path: str) -> list[tuple[int, str]]:
    return [(f.lineno or 0, f.line or "") for f in traceback.extract_tb(tb) if f.filename == path]


def _error(exc: BaseException, path: str) -> dict:
    frames = _student_frames(exc.__traceback__, path)
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
    if isinstance(exc, SyntaxError) and exc.filename == path:
        info["line"], info["code"] = exc.lineno or 0, (exc.text or "").rstrip()[:300]
    elif frames:
        info["line"], info["code"] = frames[-1][0], frames[-1][1][:300]
    if isinstance(exc, NotImplementedError):
        info["kind"] = "not-implemented"
    elif isinstance(exc, MemoryError):
        info["kind"] = "memory-limit"
    elif isinstance(exc, RecursionError):
        info["kind"] = "crashed"
    else:
        info["kind"] = "exception"
    return info


def _describe(module, names: list[str]) -> dict:
    found = {}
    for name in names:
        fn = module.__dict__.get(name)
        if fn is None:
            found[name] = {"defined": False}
            continue
        entry: dict[str, Any] = {"defined": True, "callable": callable(fn)}
        try:
            params = inspect.signature(fn).parameters.values()
            entry["required"] = sum(
                p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params
            )
            entry["positional"] = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
            entry["varargs"] = any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):
            entry["varargs"] = True
        found[name] = entry
    return found


def _decode_arg(spec: dict, blobs: list[bytes]):
    kind = spec["kind"]
    if kind == "array":  # raw bytes; dtype and shape in the header (written by the grader)
        return np.frombuffer(blobs[spec["blob"]], dtype=np.dtype(spec["dtype"])).reshape(spec["shape"]).copy()
    if kind == "object":  # the course's own type, e.g. common:GaussianMixture
        module, _, name = spec["factory"].partition(":")
        factory = getattr(importlib.import_module(module), name)
        return factory(**{k: _decode_arg(v, blobs) for k, v in spec["fields"].items()})
    if kind == "int":
        return int(spec["value"])
    return float(spec["value"])


def _convert(value, name: str, max_bytes: int):
    """Turn one returned value into (type name, .npy bytes) or an error dict."""
    tname = type(value).__module__ + "." + type(value).__qualname__
    tname = tname.replace("builtins.", "")
    try:
        arr = np.array(value, copy=True, subok=False)
    except Exception as exc:  # noqa: BLE001 - anything the student's object raises
        return tname, None, {"kind": "wrong-type", "message": f"{name} could not be read as numbers: {type(exc).__name__}: {exc}"[:500]}
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        return tname, None, {"kind": "wrong-type", "message": f"{name} is a {tname} holding {arr.dtype} values, not numbers"}
    elif arr.dtype.itemsize > 8:
        arr = arr.astype(np.float64)
    if arr.nbytes > max_bytes:
        return tname, None, {"kind": "too-large", "message": f"{name} is {arr.nbytes} bytes, over the {max_bytes}-byte limit"}
    return tname, _npy(arr), None


def _split_outputs(result, names: list[str]):
    """Map a return value to the named outputs: the value itself, a sequence, or attributes.

    A NamedTuple or an object with attributes named like the outputs (``mixture.mu``)
    is read by name; a plain tuple or list of the right length by position.
    """
    if len(names) == 1:
        return [result], None
    fields = getattr(type(result), "_fields", None)
    if isinstance(result, tuple) and fields and all(n in fields for n in names):
        return [getattr(result, n) for n in names], None
    if isinstance(result, (tuple, list)):
        if len(result) == len(names):
            return list(result), None
        return None, f"expected {len(names)} values ({', '.join(names)}), got a {type(result).__name__} of length {len(result)}"
    if all(hasattr(result, n) for n in names):
        return [getattr(result, n) for n in names], None
    return None, f"expected {len(names)} values ({', '.join(names)}), got a {type(result).__name__}"


class CourseImports:
    """The import hook of a student process: top-level modules installed in
    site-packages import only if the course provides them (numpy, the assignment's
    ``packages`` and their dependencies); plotting packages come from the inert stubs.
    Anything else installed is "not in this course's environment" — said plainly, where
    Landlock alone would give a PermissionError. A module of the student's own folder or
    of the course's helpers is found even if site-packages holds one of the same name."""

    def __init__(self, provided: list[str], modules: list[str], stubs: dict[str, str]) -> None:
        self.provided = list(provided)
        self.allowed = {"numpy", *modules}
        self.stubs = dict(stubs)
        self.site = tuple(p.rstrip(os.sep) + os.sep for p in _site_packages())

    def _in_site(self, spec) -> bool:  # noqa: ANN001
        where = list(spec.submodule_search_locations or []) or [spec.origin or ""]
        return any(os.path.realpath(w).startswith(self.site) for w in where if w)

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201
        import importlib.machinery

        if path is not None:  # a submodule: its package was let in already
            return None
        if name in self.stubs:
            return importlib.machinery.PathFinder.find_spec(name, [self.stubs[name]])
        try:
            spec = importlib.machinery.PathFinder.find_spec(name)
        except (ImportError, OSError):
            return None
        if spec is None or name in self.allowed or not self._in_site(spec):
            return spec
        outside = [p for p in sys.path if not os.path.realpath(p or ".").startswith(self.site) and os.path.realpath(p or ".") + os.sep not in self.site]
        other = importlib.machinery.PathFinder.find_spec(name, outside)
        if other is not None and not self._in_site(other):
            return other  # the student's own utils.py, say
        offer = ", ".join(["numpy", *self.provided])
        raise ModuleNotFoundError(
            f"No module named {name!r} in this course's environment (it provides the standard library and {offer}"
            f"{'; plotting calls do nothing' if self.stubs else ''})",
            name=name,
        )


DENIED_SYSCALLS = [
    # no new sockets (the grader's socket pair is already open), no other programs
    "socket", "socketpair", "execve", "execveat",
    # no processes (threads are clone() with CLONE_THREAD, allowed below)
    "fork", "vfork",
    # no looking into or steering other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    # no namespaces, mounts or kernel interfaces a numpy function never needs
    "mount", "umount2", "unshare", "setns", "pivot_root", "chroot", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl", "setsid", "setpgid",
    # io_uring submits socket and file operations without the system calls above
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # no steering of the scheduler (real-time priority starves the other students), no
    # nice values or I/O priorities of anyone, no pages moved between processes
    "setpriority", "sched_setscheduler", "sched_setparam", "sched_setattr", "ioprio_set",
    "migrate_pages", "move_pages", "kcmp",
    # no kernel log (it may hold other users' traces), no capabilities given back
    "syslog", "capset",
]
# System calls allowed on the calling process only, named as pid 0 (what glibc's
# setrlimit, getrlimit and sched_setaffinity pass): re-limiting a sibling's memory with
# prlimit64 was an attack (issue 16).
SELF_ONLY_SYSCALLS = ["prlimit64", "sched_setaffinity"]
CLONE_THREAD = 0x10000
TIOCSTI = 0x5412


def seccomp_base():
    """The filter's rules that are the same for every child (built once by the zygote:
    building is most of the cost; each child adds its own pid's rules and loads it)."""
    f = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            f.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a syscall on this architecture
    # clone3 cannot be filtered by its flags (they sit in a struct): say it does not
    # exist, and glibc falls back to clone(), whose flags are filtered.
    f.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    f.add_rule(pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(pyseccomp.ERRNO(errno.EPERM), "ioctl", pyseccomp.Arg(1, pyseccomp.EQ, TIOCSTI))
    for name in SELF_ONLY_SYSCALLS:
        # (libseccomp cannot AND two comparisons of one argument, "≠ 0 and ≠ own pid":
        # only pid 0 is let through, the own pid spelled out is refused too)
        try:
            f.add_rule(pyseccomp.ERRNO(errno.EPERM), name, pyseccomp.Arg(0, pyseccomp.NE, 0))
        except (RuntimeError, ValueError, OSError):
            pass  # not a syscall on this architecture
    return f


def apply_seccomp(base=None) -> None:
    """Deny, with EPERM, the system calls a gradient function has no business making.
    ``base``: the zygote's :func:`seccomp_base` (this process's own copy, after fork)."""
    me = os.getpid()
    f = base if base is not None else seccomp_base()
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):  # signals to ourselves only
        f.add_rule(pyseccomp.ERRNO(errno.EPERM), name, pyseccomp.Arg(0, pyseccomp.NE, me))
    f.load()


PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
PR_SET_NO_NEW_PRIVS = 38
SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "arm64": 91}
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> None:
    """No capabilities at all (bounding, ambient, effective, permitted, inheritable) and
    no-new-privileges, at every sandbox level: a grader running as root must not hand
    root's powers (real-time scheduling, the kernel log, raising limits) to a student.
    Raises OSError if the kernel refuses (the child then never runs student code)."""
    if _prctl is None:
        return
    import platform

    last = 63
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        pass
    for cap in range(last + 1):
        if _prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.EPERM):
            raise OSError(ctypes.get_errno(), f"cannot drop capability {cap} from the bounding set")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on kernels without ambient sets
    number = SYS_CAPSET.get(platform.machine())
    if number is not None:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        if _libc.syscall(number, ctypes.byref(header), data) != 0:
            raise OSError(ctypes.get_errno(), "capset failed")
    if _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


# The seccomp rules shared by every child, built once by the zygote (a one-item list).
_SECCOMP_BASE: list = []

# The read-only paths every child may read, opened once by the zygote (see
# ``_landlock.prepare``): path → (O_PATH descriptor, is a folder).
_PREPARED: dict[str, tuple[int, bool]] = {}


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


def _flush() -> None:
    """Push what the submission printed into the pipe before replying, so the grader
    sees a call's output by the time it has the call's result (best effort: the
    submission may have replaced or closed its streams)."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001
            pass


def child_main(sock: socket.socket, out_fd: int, scratch: str, req: dict) -> None:
    os.setsid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.chdir(scratch)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    # Close every inherited descriptor but the socket and, until Landlock is applied
    # below, the zygote's prepared read-only path descriptors (O_PATH: they give no
    # access by themselves, and they are closed before the submission is loaded).
    prepared = _PREPARED if req.get("layers", {}).get("landlock") else {}
    keep = sorted({sock.fileno(), *(fd for fd, _ in prepared.values())})
    low = 3
    for fd in keep:
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115

    limits = req["limits"]
    mem = limits["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = limits["fsize_mb"] << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if hasattr(resource, "RLIMIT_NPROC"):
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
        except (ValueError, OSError):
            pass

    os.environ.clear()
    os.environ.update(req["env"])
    os.environ["HOME"] = os.environ["TMPDIR"] = scratch
    tempfile.tempdir = scratch
    sys.argv = [req["path"]]
    for extra in req.get("sys_path", []):
        sys.path.append(extra)  # after site-packages: cannot shadow numpy or the stdlib
    imports = req.get("imports") or {}
    sys.meta_path.insert(0, CourseImports(imports.get("provided", []), imports.get("modules", []), imports.get("stubs", {})))

    layers = req.get("layers", {})
    if layers.get("landlock"):
        try:
            landlock.restrict(read=layers["read"], write=[scratch] + layers.get("write", []), prepared=prepared)
        finally:
            for fd, _ in prepared.values():
                os.close(fd)
    # After Landlock: until then the prepared descriptors are open (some 450 of them).
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    drop_privileges()
    if layers.get("seccomp"):
        apply_seccomp(_SECCOMP_BASE[0] if _SECCOMP_BASE else None)
    # The sandbox is set up: from here on everything is the submission's doing. Said on
    # the socket before any student code runs, so a student cannot forge it (a process
    # that dies before this message is the grader's failure, not the student's).
    wire.send(sock, {"op": "setup", "ok": True})

    path = req["path"]
    module_name = req["module"]
    max_bytes = int(req["max_output_bytes"])
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        _flush()
        wire.send(sock, {"op": "loaded", "ok": False, "error": _error(exc, path)})
        return
    _flush()
    wire.send(sock, {"op": "loaded", "ok": True, "functions": _describe(module, req["functions"])})

    while True:
        try:
            msg, blobs, _ = wire.recv(sock)
        except EOFError:
            return
        if msg.get("op") != "calls":
            return
        # One reply per call, sent as soon as the call returns: the grader enforces each
        # call's time limit and keeps the calls that finished before one that hangs.
        for call in msg["calls"]:
            out_blobs: list[bytes] = []
            reply = _one_call(module, call, blobs, out_blobs, path, max_bytes)
            _flush()
            wire.send(sock, {"op": "result", "result": reply}, out_blobs)


def _one_call(module, call: dict, blobs: list[bytes], out_blobs: list[bytes], path: str, max_bytes: int) -> dict:
    """Run one call; its arrays are appended to ``out_blobs`` and named by index."""
    fn = module.__dict__.get(call["function"])
    names = call["outputs"]
    want = set(call.get("want") or names)  # outputs the grader will look at
    try:
        args = [_decode_arg(a, blobs) for a in call["args"]]
        result = fn(*args)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        return {"ok": False, "error": _error(exc, path)}
    try:
        values, problem = _split_outputs(result, names)
    except BaseException as exc:  # noqa: BLE001 - a hostile __len__ or __getattr__
        values, problem = None, f"the returned {type(result).__name__} could not be unpacked: {type(exc).__name__}"
    if problem:
        return {"ok": False, "error": {"kind": "wrong-output", "message": problem}}
    outs = []
    for name, value in zip(names, values):
        if name not in want:
            outs.append({"type": type(value).__name__, "skipped": True})
            continue
        try:
            tname, data, err = _convert(value, name, max_bytes)
        except BaseException as exc:  # noqa: BLE001
            tname, data, err = "?", None, {"kind": "wrong-type", "message": f"{name}: {type(exc).__name__}"}
        if err:
            outs.append({"type": tname, "error": err})
        else:
            outs.append({"type": tname, "blob": len(out_blobs)})
            out_blobs.append(data)
    return {"ok": True, "outputs": outs}


# --------------------------------------------------------------------------- zygote side


def read_paths() -> list[str]:
    """What a student process may read: the interpreter's standard library, the
    installed packages (each one separately, never gradgrader itself, whose data may
    hold reference solutions), shared libraries and a few devices."""
    import sysconfig

    paths: set[str] = set()
    # The standard library's folders, entry by entry: in a virtualenv (and in some
    # distributions) site-packages lives inside them, and it must not come in whole.
    for d in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"], os.path.dirname(os.__file__)}:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        paths.update(os.path.join(d, e) for e in entries if e not in {"site-packages", "dist-packages"})
    for d in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], os.path.dirname(os.path.dirname(np.__file__))}:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        for entry in entries:
            # numpy's own files only: the course's other packages are added per
            # assignment by the grader (gradgrader/sandbox/environment.py), and any
            # other installed package stays unreadable (never gradgrader itself).
            low = entry.lower()
            if low == "numpy" or low.startswith(("numpy-", "numpy.")):
                paths.add(os.path.join(d, entry))
    # Shared libraries, without any Python installation's packages beneath them.
    for d in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib"):
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        paths.update(os.path.join(d, e) for e in entries if not e.startswith("python"))
    paths.update(["/dev/null", "/dev/urandom", "/dev/zero", "/etc/ld.so.cache", "/usr/share/zoneinfo"])
    return sorted(p for p in paths if os.path.exists(p) and not _holds_packages(p))


@functools.lru_cache(maxsize=1)
def _site_packages() -> frozenset[str]:
    import site
    import sysconfig

    found = set(site.getsitepackages()) | {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    found.add(os.path.dirname(os.path.dirname(np.__file__)))
    return frozenset(os.path.realpath(p) for p in found)


def _holds_packages(path: str) -> bool:
    """True for a folder that is, or contains, one of this interpreter's site-packages
    folders (it could hold gradgrader's data, reference solutions included)."""
    real = os.path.realpath(path)
    return any(sp == real or sp.startswith(real.rstrip(os.sep) + os.sep) for sp in _site_packages())


def _kill_descendants() -> None:
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


def _status(status: int) -> dict:
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
    the read permission is stopped). With ``pid``, files the process still holds open
    after deleting them count too."""
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
                        st = entry.stat(follow_symlinks=False)
                        used += st.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(os.open(entry.name, flags, dir_fd=fd))
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


def _remove_scratch(folder: str) -> None:
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


def _wait_or_kill(ctrl: socket.socket, pid: int, scratch: str | None = None, cap: int | None = None) -> tuple[int, float, bool, str | None]:
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
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    have_subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) and os.path.isdir("/proc")
    paths = read_paths()
    if landlock.abi_version() >= 1 and _room_for(len(paths)):
        _PREPARED.update(landlock.prepare(paths))
    if pyseccomp is not None:
        try:
            _SECCOMP_BASE.append(seccomp_base())
        except (RuntimeError, ValueError, OSError):
            pass  # each child builds its own (and reports if it cannot)
    wire.send(
        ctrl,
        {
            "op": "ready",
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "subreaper": bool(have_subreaper),
            "landlock": landlock.abi_version(),
            "seccomp": pyseccomp is not None,
            "read_paths": paths,
            "baseline_mb": baseline_mb(),
        },
    )
    while True:
        try:
            req, _, _ = wire.recv(ctrl)
        except EOFError:
            return
        if req.get("op") == "kill":
            continue  # a kill that crossed the child's own exit
        if req.get("op") != "spawn":
            return
        scratch = tempfile.mkdtemp(prefix="sub-", dir=req["scratch_root"])
        parent_sock, child_sock = socket.socketpair()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the zygote's loop
            code = 0
            try:
                ctrl.close()
                parent_sock.close()
                os.close(out_r)
                child_main(child_sock, out_w, scratch, req)
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
        cap = req.get("scratch_cap")
        status, cpu, killed, why = _wait_or_kill(ctrl, pid, scratch, cap if isinstance(cap, int) else None)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if have_subreaper:
            _kill_descendants()
        _remove_scratch(scratch)
        exited = {"op": "exited", "pid": pid, "cpu_s": round(cpu, 3), "killed_by_grader": killed, **_status(status)}
        if why:
            exited["reason"] = why
        wire.send(ctrl, exited)


if __name__ == "__main__":
    main()
