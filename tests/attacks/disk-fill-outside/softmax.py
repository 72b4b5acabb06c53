"""ATTACK disk-fill-outside

At import, writes 1 MiB files to /tmp, /var/tmp, /dev/shm, the parent of its scratch folder, the
class folder and the assignment folder (paths substituted at test time).

Expected: every write is refused; none of the files exists afterwards on the host;
softmax_jacobian (correct only if a write got through) fails with 'crashed'.

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

TOKEN = "@@TOKEN@@"
TARGETS = [
    f"/tmp/ggatk-{TOKEN}-fill",
    f"/var/tmp/ggatk-{TOKEN}-fill",
    f"/dev/shm/ggatk-{TOKEN}-fill",
    os.path.join(os.path.dirname(os.getcwd()), f"ggatk-{TOKEN}-fill"),
    f"@@CLASS@@/ggatk-{TOKEN}-fill",
    f"@@ASSIGNMENT@@/ggatk-{TOKEN}-fill",
    f"@@OUT@@/ggatk-{TOKEN}-fill",
]
_done, _refused = [], []
for _path in TARGETS:
    try:
        with open(_path, "wb") as _f:
            _f.write(b"\0" * (1 << 20))
        _done.append(_path)
    except OSError as _exc:
        _refused.append(_exc.strerror)
print("WROTE", _done, "REFUSED", _refused, flush=True)


def softmax_jacobian(z):
    if _done:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED writes outside scratch: {sorted(set(_refused))}")
