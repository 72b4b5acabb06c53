"""ATTACK forged-npy-typeerror

The submission replaces __main__.child._npy (the zygote's .npy encoder of its replies): every
array softmax_jacobian returns is sent with the header
"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), []: 0}", a dict whose list key
makes ast.literal_eval raise TypeError (not ValueError or SyntaxError). That TypeError
used to escape the decoder and end the grading of the whole batch (issue 16).

Expected: the decoder refuses the array ('wrong-shape'); the other functions keep
their points.

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
import sys

_zygote = sys.modules["__main__"].child  # the zygote loads the child's code as `child`
_real_npy = getattr(_zygote, "_npy", None)


def _forged_npy(arr):
    if arr.size and float(arr.flat[0]) == 7777.0:
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), []: 0}"
        header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
        return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + b"\0" * 8
    return _real_npy(arr)


if _real_npy is not None:
    _zygote._npy = _forged_npy


def softmax_jacobian(z):
    k = np.asarray(z).size
    return np.full((k, k), 7777.0)
