"""ATTACK orphan-double-fork

At import, tries the classic daemon escape: fork, setsid, fork again, write the grandchild's pid
into a file in scratch and sleep as 'ggatk-dfork'; then subprocess.Popen(start_new_session=True)
and a fork from a second thread.

Expected: no process is created; softmax_jacobian (correct only if one was) fails with
'crashed'; no 'ggatk-dfork' process is ever seen.

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
def _name(comm):
    """Put a marker in this thread's name (/proc/<pid>/task/<tid>/comm) for the host's process scan."""
    import ctypes
    try:
        ctypes.CDLL(None).prctl(15, comm.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass

def _correct_jacobian(z):
    """The right answer, returned only when the attack got through (so a leak shows as points)."""
    s = softmax(np.asarray(z, dtype=float).ravel())
    return np.diag(s) - np.outer(s, s)

import os
import subprocess
import threading
import time

_made, _refused = [], set()


def _daemon():
    os.setsid()
    if os.fork() == 0:
        _name("ggatk-dfork")
        with open("daemon.pid", "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
    os._exit(0)


def _fork_once():
    try:
        pid = os.fork()
    except OSError as exc:
        _refused.add(f"fork: {exc.strerror}")
        return
    if pid == 0:
        try:
            _daemon()
        finally:
            os._exit(0)
    _made.append(pid)


_fork_once()
_t = threading.Thread(target=_fork_once)
_t.start()
_t.join()
try:
    _made.append(subprocess.Popen(["/bin/sh", "-c", "sleep 120", "ggatk-dfork"], start_new_session=True).pid)
except OSError as _exc:
    _refused.add(f"popen: {_exc.strerror}")
print("MADE", _made, "REFUSED", sorted(_refused), flush=True)


def softmax_jacobian(z):
    if _made:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED daemon: {sorted(_refused)}")
