"""ATTACK other-processes

At the "standard" level (Landlock + seccomp + rlimits, no bubblewrap, the grader as root)
a child could re-limit other processes of the same user with prlimit64: with --jobs 2 a
submission lowered its siblings' memory limits (issue 16). It also kept root's
capabilities (real-time scheduling granted, the kernel log readable).

softmax_jacobian tries, harmlessly (each limit, priority or CPU mask is set to the value
it already has): prlimit64 on its zygote (the parent), on another process of the same
user (@@GRADER_PID@@, the test's process) and on pid 1; setpriority on itself and on
that process; sched_setscheduler(SCHED_FIFO) on itself; sched_setaffinity on the other
process; kill(pid, 0) on it; syslog(SIZE_BUFFER) and reading /dev/kmsg. It also reads
its capabilities (capget, PR_CAPBSET_READ, PR_CAP_AMBIENT_IS_SET) and no-new-privs.
It prints one line "GGATK-REPORT {...}" (what succeeded) and returns the right answer
if anything did.

Expected: every attempt fails, every capability set is empty, no-new-privs is on; so
softmax_jacobian raises ('crashed'); the other functions keep their points.

The honest part is the reference solution's functions (docstrings dropped).
"""

import numpy as np

# ------------------------------------------------------------------ honest part
def _as_float(a: object) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _row_max(Z: np.ndarray) -> np.ndarray:
    m = np.max(Z, axis=-1, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    shifted = Z - _row_max(Z)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def logsumexp(z: np.ndarray) -> float:
    z = _as_float(z).ravel()
    c = float(np.max(z))
    if not np.isfinite(c):
        return c
    return c + float(np.log(np.sum(np.exp(z - c))))


def softmax(Z: np.ndarray) -> np.ndarray:
    Z = _as_float(Z)
    E = np.exp(Z - _row_max(Z))
    return E / np.sum(E, axis=-1, keepdims=True)


def log_partition_grad(theta: np.ndarray, T: np.ndarray) -> np.ndarray:
    theta = _as_float(theta).ravel()
    T = _as_float(T)
    p = softmax(T @ theta)
    return T.T @ p


def log_likelihood_grad(theta: np.ndarray, tau: np.ndarray, T: np.ndarray) -> np.ndarray:
    tau = _as_float(tau).ravel()
    return tau - log_partition_grad(theta, T)


def softmax_loss(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    W = _as_float(W)
    X = _as_float(X)
    y = np.asarray(y).astype(np.intp).ravel()
    reg = float(reg)
    N = X.shape[0]
    rows = np.arange(N)
    log_P = _log_softmax(X @ W.T)
    loss = -float(np.mean(log_P[rows, y])) + 0.5 * reg * float(np.sum(W * W))
    G = np.exp(log_P)
    G[rows, y] -= 1.0
    dW = G.T @ X / N + reg * W
    return (loss, dW)


# ------------------------------------------------------------------ attack
import ctypes
import json
import os

_OTHER = "@@GRADER_PID@@"
_libc = ctypes.CDLL(None, use_errno=True)
SYS_PRLIMIT64, SYS_CAPGET = 302, 125  # x86_64
RLIMIT_NOFILE, PRIO_PROCESS, SCHED_FIFO = 7, 0, 1


class _Rlimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


def _prlimit_same(pid):
    """Read pid's RLIMIT_NOFILE and write the same value back: True if both worked."""
    old = _Rlimit()
    if _libc.syscall(SYS_PRLIMIT64, pid, RLIMIT_NOFILE, None, ctypes.byref(old)) != 0:
        return False
    return _libc.syscall(SYS_PRLIMIT64, pid, RLIMIT_NOFILE, ctypes.byref(old), None) == 0


def _setpriority_same(pid):
    ctypes.set_errno(0)
    now = _libc.getpriority(PRIO_PROCESS, pid)
    if now == -1 and ctypes.get_errno():
        return False
    return _libc.setpriority(PRIO_PROCESS, pid, now) == 0


def _fifo_self():
    param = ctypes.c_int(1)
    if _libc.sched_setscheduler(0, SCHED_FIFO, ctypes.byref(param)) != 0:
        return False
    param = ctypes.c_int(0)
    _libc.sched_setscheduler(0, 0, ctypes.byref(param))  # back to SCHED_OTHER
    return True


def _affinity_same(pid):
    try:
        os.sched_setaffinity(pid, os.sched_getaffinity(pid))
        return True
    except OSError:
        return False


def _kill0(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _kmsg():
    try:
        with open("/dev/kmsg", "rb") as f:
            os.set_blocking(f.fileno(), False)
            try:
                f.read(1)
            except BlockingIOError:
                pass
        return True
    except OSError:
        return False


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _capabilities():
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    if _libc.syscall(SYS_CAPGET, ctypes.byref(header), data) != 0:
        return {"capget": "failed"}
    sets = {k: any(getattr(d, k) for d in data) for k in ("effective", "permitted", "inheritable")}
    sets["bounding"] = any(_libc.prctl(23, cap, 0, 0, 0) == 1 for cap in range(64))
    sets["ambient"] = any(_libc.prctl(47, 1, cap, 0, 0) == 1 for cap in range(64))
    sets["no_new_privs_off"] = _libc.prctl(39, 0, 0, 0, 0) != 1
    return sets


def report():
    other = int(_OTHER) if _OTHER.isdigit() else 1
    got = {
        "prlimit64_parent": _prlimit_same(os.getppid()),
        "prlimit64_other": _prlimit_same(other),
        "prlimit64_init": _prlimit_same(1),
        "setpriority_self": _setpriority_same(0),
        "setpriority_other": _setpriority_same(other),
        "sched_fifo_self": _fifo_self(),
        "sched_setaffinity_other": _affinity_same(other),
        "kill_other": _kill0(other),
        "syslog": _libc.klogctl(10, None, 0) >= 0,
        "dev_kmsg": _kmsg(),
        **_capabilities(),
    }
    print("GGATK-REPORT " + json.dumps(got), flush=True)
    return got


def softmax_jacobian(z):
    holes = sorted(k for k, v in report().items() if v)
    if not holes:
        raise RuntimeError("every attempt on other processes was refused")
    s = softmax(np.asarray(z, dtype=float)[None, :])[0]
    return np.diag(s) - np.outer(s, s)
