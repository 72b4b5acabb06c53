"""Reference solution of ``cs231n-softmax`` (CS231n assignment 1, cs231n/classifiers/softmax.py).

Shapes as in the course: ``W`` (D, C), ``X`` (N, D) one sample per row, ``y`` (N,)
integer labels in [0, C), ``reg`` >= 0. The scores are S = X W (N, C), P = softmax(S)
row-wise, Y the one-hot labels, and

    L(W) = −(1/N) Σ_i log P[i, y_i] + reg·Σ W²,     dW = Xᵀ(P − Y)/N + 2·reg·W.

This is the regularisation of the course from 2017 on; reference_half.py has the
½·reg·Σ W² of 2016. Both are accepted ([conventions] in assignment.toml).

The naive version here is the vectorised one: the reference only has to give the
right values. Log-probabilities are computed as (s − max s) − log Σ exp(s − max s),
so nothing overflows for scores shifted by ±1000.
"""

from __future__ import annotations

import numpy as np

REG_FACTOR = 1.0  # the loss adds REG_FACTOR·reg·Σ W², the gradient 2·REG_FACTOR·reg·W


def _loss_and_grad(W, X, y, reg, factor):
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    n = X.shape[0]
    scores = X @ W
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), y].mean() + factor * reg * float(np.sum(W * W))
    p = np.exp(log_p)
    p[np.arange(n), y] -= 1.0
    dW = X.T @ p / n + 2.0 * factor * reg * W
    return float(loss), dW


def softmax_loss_naive(W, X, y, reg):
    """Softmax loss and its gradient (the values the explicit-loop version must give)."""
    return _loss_and_grad(W, X, y, reg, REG_FACTOR)


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and its gradient, vectorised."""
    return _loss_and_grad(W, X, y, reg, REG_FACTOR)
