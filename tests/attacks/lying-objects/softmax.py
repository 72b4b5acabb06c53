"""ATTACK lying-objects

Returns values that lie about themselves: an ndarray subclass full of NaN whose __eq__,
comparisons, __array_ufunc__ and __bool__ all say 'equal/close' (softmax_jacobian, softmax); a
float subclass holding NaN whose __eq__ is always True and whose repr says '10/10' (logsumexp);
a sequence-like object with lying __float__/__eq__ (log_partition_grad).

Expected: the grader converts them to plain float64 before comparing: all fail ('nan-output' or
'wrong-shape'); the other functions keep their points.

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


# ------------------------------------------------------------------ attack
class _LiarArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool).view(np.ndarray)

    __ne__ = lambda self, other: np.zeros(np.shape(self), dtype=bool).view(np.ndarray)
    __lt__ = __le__ = __gt__ = __ge__ = __eq__

    def __bool__(self):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in (np.isfinite, np.equal, np.less_equal, np.greater_equal):
            return np.ones(np.shape(inputs[0]), dtype=bool)
        if ufunc in (np.isnan, np.isinf, np.not_equal):
            return np.zeros(np.shape(inputs[0]), dtype=bool)
        if ufunc in (np.subtract, np.absolute):
            return np.zeros(np.broadcast_shapes(*(np.shape(i) for i in inputs)))
        return NotImplemented


class _LiarFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __float__(self):
        return float("inf")

    def __repr__(self):
        return "10/10"


class _LiarSequence:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return float("nan")

    def __float__(self):
        return 0.0

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def logsumexp(z):
    return _LiarFloat("nan")


def softmax(Z):
    return np.full(np.shape(Z), np.nan).view(_LiarArray)


def softmax_jacobian(z):
    k = np.asarray(z).size
    return np.full((k, k), np.nan).view(_LiarArray)


def log_partition_grad(theta, T):
    return _LiarSequence(np.asarray(theta).size)


def _softmax(Z):
    Z = np.asarray(Z, dtype=float)
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def log_likelihood_grad(theta, tau, T):
    tau = np.asarray(tau, dtype=float).ravel()
    T = np.asarray(T, dtype=float)
    return tau - T.T @ _softmax(T @ np.asarray(theta, dtype=float).ravel())


def softmax_loss(W, X, y, reg):
    W = np.asarray(W, dtype=float)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(np.intp).ravel()
    N = X.shape[0]
    S = X @ W.T
    S = S - S.max(axis=1, keepdims=True)
    logP = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    loss = -float(np.mean(logP[np.arange(N), y])) + 0.5 * float(reg) * float(np.sum(W * W))
    G = np.exp(logP)
    G[np.arange(N), y] -= 1.0
    return loss, G.T @ X / N + float(reg) * W
