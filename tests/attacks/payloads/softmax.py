"""ATTACK payloads

Non-numeric returns: an object array (softmax_jacobian), a dict (log_partition_grad), a string
that looks like numbers (log_likelihood_grad), and an object whose __reduce__ would run a
command if anyone unpickled it (logsumexp).

Expected: all four fail with 'wrong-shape'; the __reduce__ marker file never exists.

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


def softmax(Z: np.ndarray) -> np.ndarray:
    Z = _as_float(Z)
    E = np.exp(Z - _row_max(Z))
    return E / np.sum(E, axis=-1, keepdims=True)


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
import os
from decimal import Decimal

_TOKEN = "@@TOKEN@@"


class _Reduce:
    def __reduce__(self):
        return (os.system, (f"touch /tmp/ggatk-{_TOKEN}-reduce",))


def logsumexp(z):
    return _Reduce()


def softmax_jacobian(z):
    k = np.asarray(z).size
    out = np.empty((k, k), dtype=object)
    out[...] = Decimal("0.1")
    return out


def log_partition_grad(theta, T):
    return {"grad": list(np.asarray(T).T @ softmax(np.asarray(T) @ np.asarray(theta)))}


def log_likelihood_grad(theta, tau, T):
    return str(list(np.asarray(tau) - np.asarray(T).T @ softmax(np.asarray(T) @ np.asarray(theta))))
