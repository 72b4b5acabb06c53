"""ATTACK memory-bomb

softmax_jacobian tries to lift its address-space limit, then takes 64 MiB blocks up to 4 GiB.

Expected: its checks fail with 'memory-limit' (MemoryError at the rlimit); others keep their
points.

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

import resource


def softmax_jacobian(z):
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    hoard = []
    for _ in range(64):  # 64 x 64 MiB = 4 GiB of address space (RLIMIT_AS counts it, touched or not)
        hoard.append(np.empty(8 << 20))
    return _correct_jacobian(z)  # only if 4 GiB were granted
