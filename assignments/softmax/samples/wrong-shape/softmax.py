"""TA note: wrong-shape — everything is correct except the shape returned by
log_partition_grad: the student reused the 2-D softmax by wrapping Tθ as a
(1, M) batch and never squeezed it away, so the result p T has shape (1, D)
where (D,) is asked. The numbers are right. (log_likelihood_grad flattens its
own probabilities and returns (D,).) Expected: wrong-shape, in
log_partition_grad only."""

import numpy as np


def logsumexp(z):
    z_max = np.max(z)
    return float(z_max + np.log(np.sum(np.exp(z - z_max))))


def softmax(Z):
    Z = Z - np.max(Z, axis=1, keepdims=True)
    E = np.exp(Z)
    return E / np.sum(E, axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z.reshape(1, -1))[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    scores = (T @ theta).reshape(1, -1)   # softmax wants a batch
    probs = softmax(scores)               # (1, M)
    return probs @ T


def log_likelihood_grad(theta, tau, T):
    probs = softmax((T @ theta).reshape(1, -1)).ravel()
    return tau - T.T @ probs


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W.T
    probs = softmax(scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N + 0.5 * reg * np.sum(W ** 2)
    probs[np.arange(N), y] -= 1
    dW = probs.T @ X / N + reg * W
    return loss, dW
