"""ATTACK ansi-escapes

Writes terminal escape sequences (clear screen, window title 'ggatk-title-print', colours, C1
CSI, bell, backspaces, carriage returns) to stdout and stderr; softmax_jacobian raises an
exception whose class name and message are escape sequences; logsumexp returns NaN in an ndarray
subclass whose name is an escape sequence.

Expected: no control character reaches results.jsonl or the grader's terminal output;
softmax_jacobian fails ('crashed'), logsumexp fails ('nan-output').

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

_ESC = "\x1b[2J\x1b[H\x1b]0;ggatk-title-print\x07\x1b[31mSCORE 10/10\x1b[0m\x9b31m\r\x08\x08"
print(_ESC)
print(_ESC, file=sys.stderr)

_Evil = type("\x1b[2J\x1b]0;ggatk-title-exc\x07Evil", (Exception,), {})
_EvilArray = type("\x1b[2J\x1b]0;ggatk-title-type\x07Array", (np.ndarray,), {})


def softmax_jacobian(z):
    print(_ESC)
    raise _Evil("\x1b[31m\x1b]0;ggatk-title-exc\x07red\x1b[0m\x9b2J\r")


def logsumexp(z):
    return np.array(np.nan).view(_EvilArray)
