"""Reference of ``cs231n-softmax`` in the course's 2016 convention.

The loss of reference.py with the penalty ½·reg·Σ W², whose gradient is reg·W:

    L(W) = −(1/N) Σ_i log P[i, y_i] + ½·reg·Σ W²,     dW = Xᵀ(P − Y)/N + reg·W.

A submission whose dW follows this convention is graded against this file. It is
self-contained (validate grades it in the sandbox like a submission, alone).
"""

from __future__ import annotations

import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    W, X, y = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64), np.asarray(y).astype(np.int64)
    rows = np.arange(X.shape[0])
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    p[rows, y] -= 1.0
    return float(-log_p[rows, y].mean() + 0.5 * reg * np.sum(W * W)), X.T @ p / X.shape[0] + reg * W


softmax_loss_naive = softmax_loss_vectorized
