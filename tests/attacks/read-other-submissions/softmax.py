"""ATTACK read-other-submissions

At import, reads and then overwrites another student's softmax.py by absolute path (control-a's,
in the class folder being graded), lists the class folder, and looks around its scratch folder
for other staged submissions.

Expected: all refused; control-a still gets full marks; the class folder is unchanged;
softmax_jacobian (correct only if something got through) fails with 'crashed'.

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

import os

VICTIM = "@@VICTIM@@"
CLASS = "@@CLASS@@"
_got, _refused = [], []
try:
    with open(VICTIM) as _f:
        _got.append(("read", len(_f.read())))
except OSError as _exc:
    _refused.append(f"read: {_exc.strerror}")
try:
    with open(VICTIM, "a") as _f:
        _f.write("\nraise SystemExit('sabotaged by read-other-submissions')\n")
    _got.append(("write", VICTIM))
except OSError as _exc:
    _refused.append(f"write: {_exc.strerror}")
try:
    _names = os.listdir(CLASS)
    if _names:  # an empty folder is what a hidden (tmpfs-covered) class looks like
        _got.append(("list", _names))
except OSError as _exc:
    _refused.append(f"list: {_exc.strerror}")
for _up in ("..", "../..", "../stage", "../../.."):
    try:
        _names = os.listdir(_up)
        _got.append((_up, _names))
    except OSError as _exc:
        _refused.append(f"{_up}: {_exc.strerror}")
print("GOT", _got, "REFUSED", _refused, flush=True)


def softmax_jacobian(z):
    if any(kind in ("read", "write", "list") for kind, _ in _got):
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED other submissions: {sorted(set(_refused))}")
