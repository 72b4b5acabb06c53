"""ATTACK monkeypatch-numpy

At import, replaces numpy's and Python's comparison helpers in its own process: np.allclose,
np.isclose, np.array_equal, np.testing.assert_*, np.linalg.norm, math.isclose,
builtins.abs/round. softmax_jacobian returns NaN and log_likelihood_grad the negated gradient.

Expected: the patches live only in the sandboxed child; both functions fail ('nan-output',
'sign-flipped'); the honest functions keep their points.

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
import builtins
import math

np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *x, **k: np.ones(np.broadcast_shapes(np.shape(a), np.shape(b)), dtype=bool)
np.array_equal = lambda *a, **k: True
np.array_equiv = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.linalg.norm = lambda *a, **k: 0.0
math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0
builtins.round = lambda *a, **k: 0


def softmax_jacobian(z):
    k = np.asarray(z).size
    return np.full((k, k), np.nan)


def log_likelihood_grad(theta, tau, T):
    tau = np.asarray(tau, dtype=float).ravel()
    return -(tau - log_partition_grad(theta, T))
