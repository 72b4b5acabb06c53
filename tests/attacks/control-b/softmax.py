"""CONTROL control-b: a copy of assignments/softmax/samples/correct-float32. Must get full marks beside the attacks."""

import numpy as np

DTYPE = np.float32


def logsumexp(z):
    z = np.asarray(z, dtype=DTYPE)
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m)))


def softmax(Z):
    Z = np.asarray(Z, dtype=DTYPE)
    e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(np.asarray(z, dtype=DTYPE).reshape(1, -1)).ravel()
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    theta = np.asarray(theta, dtype=DTYPE)
    T = np.asarray(T, dtype=DTYPE)
    p = softmax((T @ theta).reshape(1, -1)).ravel()
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return np.asarray(tau, dtype=DTYPE) - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    W = np.asarray(W, dtype=DTYPE)
    X = np.asarray(X, dtype=DTYPE)
    reg = DTYPE(reg)
    N = X.shape[0]
    idx = np.arange(N)

    S = X @ W.T
    S = S - np.max(S, axis=1, keepdims=True)
    logZ = np.log(np.sum(np.exp(S), axis=1, keepdims=True))
    logP = S - logZ
    loss = -np.mean(logP[idx, y]) + DTYPE(0.5) * reg * np.sum(W * W)

    G = np.exp(logP)
    G[idx, y] -= 1
    dW = (G.T @ X) / DTYPE(N) + reg * W
    return loss, dW
