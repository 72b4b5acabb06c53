"""Confinement primitives of a student process: prctl, the seccomp filter, dropping
every capability, the interpreter's site-packages folders, and the import hook that
lets a student import only what the course provides.

Loaded by path inside the zygote (``_zygote._load_sibling``): standard library only
(and the optional ``pyseccomp``), never gradgrader. The order in which a child applies
them is ``_child.child_main``'s.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import struct
import sys
from typing import Any

import numpy as np

# The libraries pyseccomp asks ``ctypes.util.find_library`` for, by the names their
# sonames have had for a decade: on Linux find_library runs ``ldconfig -p`` and parses
# its listing, twice per import (~5 ms of every sandbox's start, #17), to return these
# very names, which the dynamic linker finds by itself. A name that does not load is
# looked up as before.
_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


def _import_pyseccomp() -> Any:
    """pyseccomp (libseccomp through ctypes), or None if it or libseccomp is missing.

    pyseccomp imports ``ctypes.util`` for ``find_library`` alone, and ``ctypes.util``
    imports ``subprocess``, ``threading``, ``tempfile`` and ``random``: ~5 ms of the
    zygote's start, and ``threading`` and ``random`` each run a handler in every child
    it forks (#17). While pyseccomp is imported, a stand-in ``ctypes.util`` answers by
    soname; the real one is imported only for a library whose soname does not load. No
    stand-in is left behind."""
    import types

    real: Any = sys.modules.get("ctypes.util")

    def find_library(name: str) -> str | None:
        nonlocal real
        soname = _SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        if real is None:
            real = _real_ctypes_util()
        return real.find_library(name)

    stand_in = types.ModuleType("ctypes.util")
    stand_in.find_library = find_library  # type: ignore[attr-defined]
    sys.modules["ctypes.util"] = stand_in
    ctypes.util = stand_in  # type: ignore[attr-defined]
    try:
        import pyseccomp
    except Exception:  # noqa: BLE001 - missing package or missing libseccomp
        return None
    finally:
        if real is not None:
            sys.modules["ctypes.util"] = ctypes.util = real  # type: ignore[attr-defined]
        else:
            del sys.modules["ctypes.util"]
            del ctypes.util  # type: ignore[attr-defined]
    return pyseccomp


def _real_ctypes_util() -> Any:
    """The real ``ctypes.util``, imported from under the stand-in of :func:`_import_pyseccomp`."""
    import importlib

    stand_in = sys.modules.pop("ctypes.util")
    try:
        return importlib.import_module("ctypes.util")
    finally:
        sys.modules["ctypes.util"] = stand_in


pyseccomp = _import_pyseccomp()  # optional

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


SELF_SIGNALS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")  # to ourselves only


def _with_own_pid(f, pid: int):  # noqa: ANN001, ANN202 - a pyseccomp filter
    """``f`` with the rules that let signals reach process ``pid`` only."""
    for name in SELF_SIGNALS:
        f.add_rule(pyseccomp.ERRNO(errno.EPERM), name, pyseccomp.Arg(0, pyseccomp.NE, pid))
    return f


def apply_seccomp(base=None, template: tuple[bytes, tuple[int, ...]] | None = None) -> None:
    """Deny, with EPERM, the system calls a gradient function has no business making.
    ``template``: the zygote's :func:`seccomp_template`, the whole filter compiled once
    (only the pid is written in here); else ``base``, the zygote's :func:`seccomp_base`
    (this process's own copy, after fork), completed and compiled here."""
    me = os.getpid()
    if template is not None:
        _load_program(with_pid(template, me))
        return
    _with_own_pid(base if base is not None else seccomp_base(), me).load()


# A number no process has (pid_max is at most 2**22): the template's stand-in for the
# child's own pid, which libseccomp's compiler handles as any other constant.
_SENTINEL_PID = 0x7FFF_FF5A


def _program(pid: int) -> bytes:
    """The whole filter for process ``pid``, compiled by libseccomp to BPF."""
    with _scratch_file() as out:
        _with_own_pid(seccomp_base(), pid).export_bpf(out)
        out.seek(0)
        return out.read()


def _scratch_file() -> Any:
    """An anonymous file for libseccomp to write into: in memory, and without
    ``tempfile`` where Linux allows (see :func:`_import_pyseccomp`)."""
    try:
        return os.fdopen(os.memfd_create("gradgrader-seccomp", os.MFD_CLOEXEC), "w+b")
    except (AttributeError, OSError):
        import tempfile

        return tempfile.TemporaryFile()  # noqa: SIM115 - the caller's with-block closes it


def seccomp_template() -> tuple[bytes, tuple[int, ...]] | None:
    """The filter compiled once, by the zygote (#17: compiling it took most of a child's
    seccomp time): the BPF program for a stand-in pid and where that pid sits in it.
    Checked against libseccomp itself: with two real pids written in, the program must
    be byte for byte the one libseccomp compiles for each; otherwise None (every child
    then compiles its own, as without a template)."""
    program = _program(_SENTINEL_PID)
    if not program or len(program) % 8:
        return None
    at = tuple(i for i in range(0, len(program), 8) if struct.unpack_from("<I", program, i + 4)[0] == _SENTINEL_PID)
    if not at:
        return None
    for pid in (2, (1 << 22) - 1):
        if with_pid((program, at), pid) != _program(pid):
            return None
    return program, at


def with_pid(template: tuple[bytes, tuple[int, ...]], pid: int) -> bytes:
    """The template's program with ``pid`` written where the stand-in was."""
    program, at = template
    out = bytearray(program)
    for i in at:
        struct.pack_into("<I", out, i + 4, pid)
    return bytes(out)


PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _load_program(program: bytes) -> None:
    """Install a compiled filter on this process (no-new-privileges first, as libseccomp
    does). Raises OSError if the kernel refuses: the child then never runs student code."""
    if _prctl is None:
        raise OSError(errno.ENOSYS, "prctl is not available")
    code = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
    if _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) refused the filter")


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


@functools.lru_cache(maxsize=1)
def site_packages() -> frozenset[str]:
    """This interpreter's site-packages folders, real paths (cached: the zygote asks
    first, before any fork, and every child reuses the answer)."""
    import site
    import sysconfig

    found = set(site.getsitepackages()) | {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    found.add(os.path.dirname(os.path.dirname(np.__file__)))
    return frozenset(os.path.realpath(p) for p in found)


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
        self.site = tuple(p.rstrip(os.sep) + os.sep for p in site_packages())

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
