"""ATTACK orphan-thread

At import, starts a non-daemon thread named 'ggatk-thread' that keeps writing a heartbeat file
in its scratch folder, and names its main thread 'ggatk-orphan'. Every function is honest.

Expected: full marks (the thread changes no result), and no thread or process with either name
is alive once the submission's result line is written.

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


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    s = softmax(_as_float(z).ravel())
    return np.diag(s) - np.outer(s, s)


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

import os
import threading
import time


def _heartbeat():
    _name("ggatk-thread")
    n = 0
    while True:
        n += 1
        try:
            with open("heartbeat.txt", "w") as f:
                f.write(f"{os.getpid()} {n}\n")
        except OSError:
            pass
        time.sleep(0.05)


_name("ggatk-orphan")
threading.Thread(target=_heartbeat, daemon=False).start()
time.sleep(1.0)  # be visible to the host's process scan for a while before grading starts
