"""TA note: log-of-softmax — everything right and max-subtracted, but the loss takes
np.log of the softmax, so a probability that underflows to 0 gives log 0 = -inf.
Expected: only softmax_loss.stable fails, on the widely spread logits, named
unstable-logsumexp."""

import numpy as np


def logsumexp(z):
    z = np.asarray(z, dtype=float)
    c = z.max()
    return float(c + np.log(np.exp(z - c).sum()))


def softmax(Z):
    Z = np.asarray(Z, dtype=float)
    shifted = Z - Z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(np.asarray(z, dtype=float)[None, :])[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax((T @ theta)[None, :])[0]
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W.T
    scores = scores - scores.max(axis=1, keepdims=True)  # no overflow...
    P = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    # ...but a class far below the best one gets P = 0 exactly, and log(0) = -inf
    loss = -np.mean(np.log(P[np.arange(N), y])) + 0.5 * reg * np.sum(W * W)

    dscores = P.copy()
    dscores[np.arange(N), y] -= 1
    dW = dscores.T @ X / N + reg * W
    return loss, dW
