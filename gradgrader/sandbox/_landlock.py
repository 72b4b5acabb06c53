"""Landlock from Python with ctypes: filesystem allow-lists, TCP denial, scoping.

Stdlib only (it is also loaded by path inside the sandbox). Landlock is unprivileged:
a process restricts itself and every process it later starts, and cannot undo it.
See Documentation/userspace-api/landlock.rst in the Linux kernel for the constants.
"""

from __future__ import annotations

import ctypes
import functools
import os
import stat

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # same on x86_64 and arm64
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_READ = READ_FILE | EXECUTE
DIR_READ = READ_FILE | READ_DIR | EXECUTE


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.lru_cache(maxsize=1)
def _libc():
    return ctypes.CDLL(None, use_errno=True)


@functools.lru_cache(maxsize=1)
def abi_version() -> int:
    """The kernel's Landlock ABI (0 when Landlock is missing or disabled, or not Linux)."""
    uname = os.uname() if hasattr(os, "uname") else None  # what platform.system() and machine() read
    if uname is None or uname.sysname != "Linux" or uname.machine not in {"x86_64", "aarch64", "arm64"}:
        return 0
    try:
        libc = _libc()
        v = libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(v), 0)


def prepare(paths: list[str]) -> dict[str, tuple[int, bool, _PathBeneath]]:
    """Open each path once (``O_PATH``), for :func:`restrict` in many later processes:
    path → (descriptor, is a folder, its read rule). Opening some 330 paths and building
    their rules is most of the cost of a restriction; a zygote prepares them once and
    each forked child only adds the rules (~0.8–1.2 ms instead of ~1.7 ms of its start, #17).
    Paths naming the same file (``/lib/x86_64-linux-gnu`` and
    ``/usr/lib/x86_64-linux-gnu`` on a merged /usr) share one rule, which
    :func:`restrict` adds once: Landlock's rules belong to the file, so a second would
    add nothing. Paths that do not exist are left out (they would grant nothing)."""
    fs = _fs_mask(abi_version())
    prepared: dict[str, tuple[int, bool, _PathBeneath]] = {}
    rules: dict[tuple[int, int], _PathBeneath] = {}
    for path in paths:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        st = os.fstat(fd)
        is_dir = stat.S_ISDIR(st.st_mode)
        rule = rules.setdefault((st.st_dev, st.st_ino), _PathBeneath(_read_access(is_dir, fs), fd))
        prepared[path] = (fd, is_dir, rule)
    return prepared


def _fs_mask(abi: int) -> int:
    """The filesystem rights Landlock handles at ``abi``."""
    return _FS_BY_ABI.get(abi, (1 << 16) - 1)


def _read_access(is_dir: bool, fs: int) -> int:
    """What a read-only rule allows beneath a folder, or on a file."""
    return (DIR_READ if is_dir else FILE_READ) & fs


def restrict(
    read: list[str],
    write: list[str],
    deny_tcp: bool = True,
    scope: bool = True,
    prepared: dict[str, tuple[int, bool, _PathBeneath]] | None = None,
) -> int:
    """Allow reading only beneath ``read`` and writing only beneath ``write``; deny TCP
    bind/connect (ABI ≥ 4); keep signals and abstract unix sockets inside (ABI ≥ 6).
    ``prepared`` (from :func:`prepare`) supplies already-open descriptors and their
    rules for some of the ``read`` paths; they stay open (the caller closes them).

    Returns the ABI used. Raises OSError if the kernel refuses."""
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available")
    libc = _libc()
    fs = _fs_mask(abi)
    attr = _RulesetAttr(fs, (NET_BIND_TCP | NET_CONNECT_TCP) if deny_tcp and abi >= 4 else 0,
                        (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if scope and abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 4 else 8
    if abi >= 4 and abi < 6:
        size = 16
    rfd = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if rfd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    # The syscall's fixed arguments, converted once for every rule.
    add_rule, ruleset, kind, no_flags = libc.syscall, ctypes.c_int(rfd), ctypes.c_int(RULE_PATH_BENEATH), ctypes.c_uint32(0)
    added: set[int] = set()  # prepared rules already in the ruleset, by identity
    try:
        for paths, access in ((read, None), (write, fs)):
            for path in paths:
                known = prepared.get(path) if prepared is not None and access is None else None
                if known is not None:
                    rule = known[2]
                    if id(rule) in added:
                        continue  # the same file as a path ruled before it
                    added.add(id(rule))
                    if add_rule(SYS_ADD_RULE, ruleset, kind, ctypes.byref(rule), no_flags) != 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                    continue
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # a path that does not exist grants nothing
                try:
                    is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                    allowed = access if access is not None else _read_access(is_dir, fs)
                    if not is_dir:
                        allowed &= READ_FILE | WRITE_FILE | EXECUTE | TRUNCATE | IOCTL_DEV
                    rule = _PathBeneath(allowed & fs, fd)
                    if add_rule(SYS_ADD_RULE, ruleset, kind, ctypes.byref(rule), no_flags) != 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                finally:
                    os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(rfd), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(rfd)
    return abi
