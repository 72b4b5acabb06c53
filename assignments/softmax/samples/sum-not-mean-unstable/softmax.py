"""TA note: two faults in softmax_loss, and only one of them may be named.

The loss and dW sum over the samples where the mean was asked for (no 1/N), and
nothing subtracts the maximum logit, so exp overflows on huge logits. Because the
function is already wrong on ordinary inputs, its failure on huge logits is not
called unstable-softmax: the stability advice would send the student to the wrong
fix first. The other five functions are right and stable."""

import numpy as np


def logsumexp(z):
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z.reshape(1, -1))[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    return T.T @ softmax((T @ theta).reshape(1, -1))[0]


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    E = np.exp(X @ W.T)                      # no max subtracted
    P = E / E.sum(axis=1, keepdims=True)
    loss = -np.sum(np.log(P[np.arange(N), y])) + 0.5 * reg * np.sum(W * W)   # sum, not mean
    Y = np.zeros_like(P)
    Y[np.arange(N), y] = 1.0
    dW = (P - Y).T @ X + reg * W             # no 1/N
    return loss, dW
