"""ATTACK fork-bomb-multiprocessing

softmax_jacobian starts 20 multiprocessing workers (fork and spawn contexts) and os.posix_spawn.

Expected: refused; its checks fail ('crashed'); no 'ggatk-mp' process is ever seen.

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

import multiprocessing
import os
import time


def _worker():
    _name("ggatk-mp")
    time.sleep(60)


def softmax_jacobian(z):
    made, errors = 0, set()
    for method in ("fork", "spawn", "forkserver"):
        for _ in range(20):
            try:
                multiprocessing.get_context(method).Process(target=_worker, daemon=False).start()
                made += 1
            except Exception as exc:  # OSError, or whatever multiprocessing wraps it in
                errors.add(f"{method}: {type(exc).__name__}: {exc}"[:80])
                break
    try:
        os.posix_spawn("/bin/sh", ["ggatk-mp", "-c", "sleep 60"], {})
        made += 1
    except OSError as exc:
        errors.add(f"posix_spawn: {exc.strerror}")
    if made:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED multiprocessing: {sorted(errors)}")
