"""TA note: loss-gradient-mismatch — everything is correct except the loss value
of softmax_loss, which uses reg·‖W‖²_F instead of (reg/2)‖W‖²_F, while dW is the
correct (1/N)(P − Y)ᵀX + reg·W. The gradient therefore does not match a
finite-difference gradient of the student's own loss (it misses reg·W), and the
loss is off by (reg/2)‖W‖². Invisible when reg = 0. Expected mistake:
loss-gradient-mismatch, in softmax_loss only."""

import numpy as np


def logsumexp(z):
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax(Z):
    Z = Z - np.max(Z, axis=1, keepdims=True)
    return np.exp(Z) / np.sum(np.exp(Z), axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z.reshape(1, -1)).reshape(-1)
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax((T @ theta).reshape(1, -1)).reshape(-1)
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W.T
    scores -= scores.max(axis=1, keepdims=True)
    lse = np.log(np.exp(scores).sum(axis=1))
    loss = np.mean(lse - scores[np.arange(N), y])
    loss += reg * np.sum(W * W)

    P = np.exp(scores - lse[:, None])
    Y = np.zeros_like(P)
    Y[np.arange(N), y] = 1
    dW = (P - Y).T @ X / N + reg * W
    return loss, dW
