"""ATTACK wire-flood

Replaces the sandbox child's wire.send_encoded (every message goes through it): its first call
reply announces one 250 MiB blob and streams it from a 1 MiB buffer (the child never holds
it); later replies are honest.

Expected: the grader rejects it without holding hundreds of MiB (the honest cap is 64 MiB per
output).

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
import json
import struct
import sys

_zygote = sys.modules["__main__"]
_real_send = _zygote.wire.send_encoded if hasattr(_zygote, "wire") else None
_flooded = False


def _flood(sock, data, blobs=(), fds=None):
    global _flooded
    header = json.loads(data)
    if _flooded or header.get("op") not in ("results", "result"):
        return _real_send(sock, data, blobs, fds)
    _flooded = True
    size = 250 << 20
    results = header.get("results")
    reply = dict(header)
    if isinstance(results, list):
        reply["results"] = [{"ok": True, "outputs": [{"type": "ndarray", "blob": 0}]}] * len(results)
    data = json.dumps(reply).encode()
    sock.sendall(struct.pack("<II", len(data), 1) + data + struct.pack("<Q", size))
    chunk = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        sock.sendall(chunk)


if _real_send is not None:
    _zygote.wire.send_encoded = _flood
