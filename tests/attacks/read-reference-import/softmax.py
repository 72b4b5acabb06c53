"""ATTACK read-reference-import

At import, tries `import gradgrader` (and its load_assignment / package data / distribution
files) to reach the shipped reference, and searches its own memory (every module, every string
reachable from the garbage collector) for the reference's source inherited from the zygote.

Expected: gradgrader cannot be imported in the sandbox and nothing of the reference is in
memory; softmax_jacobian (the reference's, if found) fails with 'crashed'.

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
import gc
import sys

_notes, _source = [], None
try:
    import gradgrader.spec as _spec

    _root = _spec.parse_assignment("softmax").root
    with open(_root / "reference.py") as _f:
        _source = _f.read()
except BaseException as _exc:
    _notes.append(f"import gradgrader: {type(_exc).__name__}")
if _source is None:
    try:
        import importlib.metadata as _md

        _dist = _md.distribution("gradgrader")
        for _file in _dist.files or []:
            if str(_file).endswith("/softmax/reference.py"):
                _source = _file.read_text()
                break
        else:
            _notes.append("metadata: no reference.py")
    except BaseException as _exc:
        _notes.append(f"metadata: {type(_exc).__name__}")
if _source is None:
    _notes.append("modules: " + ",".join(m for m in sys.modules if "grad" in m or "reference" in m))
    for _obj in gc.get_objects():
        for _ref in gc.get_referents(_obj):
            if isinstance(_ref, str) and "def softmax_jacobian" in _ref and "Reference solution" in _ref:
                _source = _ref
                break
        if _source is not None:
            break
    else:
        _notes.append("memory: not found")
print("NOTES", _notes, flush=True)


def softmax_jacobian(z):
    if _source is not None:
        ns = {}
        exec(_source, ns)
        return ns["softmax_jacobian"](z)
    raise RuntimeError(f"BLOCKED import/memory: {_notes}")
