"""ATTACK wire-unrequested

The submission replaces __main__.child._one_call (the zygote's code that answers one call)
so that every reply about softmax_loss carries more than was asked: a 4 MiB array for
each output, whether the grader asked for it or not (the finite-difference calls ask
for the loss only), plus one array no output names. The grader used to decode the
unrequested outputs and keep them in its memo.

Expected: the grader refuses every such reply before decoding anything ('crashed');
the other functions keep their points.

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


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    s = softmax(np.asarray(z, dtype=float)[None, :])[0]
    return np.diag(s) - np.outer(s, s)


# ------------------------------------------------------------------ attack
import sys

_zygote = sys.modules["__main__"].child  # the zygote loads the child's code as `child`
_real_one_call = getattr(_zygote, "_one_call", None)


def _forged_one_call(module, call, blobs, out_blobs, path, max_bytes, **rest):
    if call.get("function") != "softmax_loss" or _real_npy is None:
        return _real_one_call(module, call, blobs, out_blobs, path, max_bytes, **rest)
    outs = []
    for _name in call["outputs"]:
        outs.append({"type": "ndarray", "blob": len(out_blobs)})
        out_blobs.append(_real_npy(np.zeros(1 << 19)))
    out_blobs.append(_real_npy(np.zeros(1 << 19)))  # named by no output
    return {"ok": True, "outputs": outs}


_real_npy = getattr(_zygote, "_npy", None)
if _real_one_call is not None:
    _zygote._one_call = _forged_one_call


def softmax_loss(W, X, y, reg):
    return 0.0, np.zeros_like(np.asarray(W, dtype=float))
