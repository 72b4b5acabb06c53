"""TA note: syntax-error — an otherwise correct solution with a missing colon at
the end of the `def softmax_jacobian(z)` line, so the file does not even parse
(SyntaxError when it is loaded). Expected: status "error", zero score, no
function checked; the message should point at the line."""

import numpy as np


def logsumexp(z):
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def softmax_jacobian(z)
    s = softmax(z.reshape(1, -1))[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax((T @ theta).reshape(1, -1))[0]
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    S = X @ W.T
    S = S - np.max(S, axis=1, keepdims=True)
    logP = S - np.log(np.sum(np.exp(S), axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * reg * np.sum(W * W)
    P = np.exp(logP)
    P[np.arange(N), y] -= 1
    dW = P.T @ X / N + reg * W
    return loss, dW
