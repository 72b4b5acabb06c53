"""ATTACK read-reference-walk

At import, walks the file system from / and from every folder on sys.path (and their parents), 5
s at most, looking for reference.py, hooks.py, assignment.toml and EXPECTED.toml, and reads
every one it can.

Expected: nothing of the course is visible; softmax_jacobian (the reference's, if one was found)
fails with 'crashed'.

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
import os
import sys
import time

_WANTED = {"reference.py", "hooks.py", "assignment.toml", "EXPECTED.toml"}
_found, _dirs, _denied = {}, 0, 0
_deadline = time.monotonic() + 5.0


def _err(exc):
    global _denied
    _denied += 1


# From /, and from every folder Python itself can see (sys.path, sys.prefix and their parents).
_starts = ["/"]
for _p in [*sys.path, sys.prefix, sys.base_prefix, os.getcwd()]:
    while _p and _p not in _starts and _p != "/":
        _starts.append(_p)
        _p = os.path.dirname(_p)
_seen = set()
for _start in _starts:
    for _root, _subdirs, _files in os.walk(_start, onerror=_err):
        if time.monotonic() > _deadline or _root in _seen:
            _subdirs[:] = []
            continue
        _seen.add(_root)
        _dirs += 1
        _subdirs[:] = [d for d in _subdirs if d not in ("proc", "sys")]
        for _name in _WANTED.intersection(_files):
            try:
                with open(os.path.join(_root, _name), errors="replace") as _f:
                    _text = _f.read(200000)
            except OSError:
                continue
            if "softmax" in _text:
                _found[os.path.join(_root, _name)] = _text
print(f"WALKED {_dirs} dirs, {_denied} refused, found {sorted(_found)}", flush=True)


def softmax_jacobian(z):
    for text in _found.values():
        if "def softmax_jacobian" in text:
            ns = {}
            exec(text, ns)
            return ns["softmax_jacobian"](z)
    raise RuntimeError(f"BLOCKED walk: {_dirs} dirs readable, {_denied} refused, course files: {len(_found)}")
