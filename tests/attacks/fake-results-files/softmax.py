"""ATTACK fake-results-files

At import, writes fake full-marks results into the grader's output folder (its path substituted
at test time): appends to results.jsonl, rewrites grades.csv and run.json, adds a file; rewrites
its own softmax.py in the class folder; writes results files in its cwd and the cwd's parent.

Expected: every write outside the scratch folder is refused; OUT holds only the grader's three
files; the class folder is unchanged; softmax_jacobian (correct only if a write got through)
fails.

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

OUT = "@@OUT@@"
ME = "@@CLASS@@/fake-results-files/softmax.py"
TOKEN = "@@TOKEN@@"
_FAKE = ('{"submission": "fake-results-files", "assignment": "softmax", "status": "graded", '
         '"score": 10.0, "max_score": 10.0, "checks": [], "mistakes": []}\n')
_ATTEMPTS = [
    (os.path.join(OUT, "results.jsonl"), "a", _FAKE),
    (os.path.join(OUT, "grades.csv"), "w", "submission,score,max_score,status\nfake-results-files,10,10,graded\n"),
    (os.path.join(OUT, "run.json"), "w", "{}"),
    (os.path.join(OUT, f"ggatk-{TOKEN}-hacked.txt"), "w", "hacked"),
    (ME, "w", "# hacked\n"),
    (os.path.join(os.path.dirname(os.getcwd()), "results.jsonl"), "w", _FAKE),
]
_outside, _refused = [], []
for _path, _mode, _text in _ATTEMPTS:
    try:
        with open(_path, _mode) as _f:
            _f.write(_text)
        _outside.append(_path)
    except OSError as _exc:
        _refused.append(_exc.strerror)
with open("results.jsonl", "w") as _f:  # inside scratch: allowed, and meaningless
    _f.write(_FAKE)
print("WROTE", _outside, "REFUSED", _refused, flush=True)


def softmax_jacobian(z):
    if _outside:
        return _correct_jacobian(z)
    raise RuntimeError(f"BLOCKED writes to OUT and the class folder: {sorted(set(_refused))}")
