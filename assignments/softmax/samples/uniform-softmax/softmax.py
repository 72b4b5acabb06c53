"""TA note: uniform-softmax — softmax returns 1/K everywhere, whatever the scores:
rows that sum to 1 and that do not change when a constant is added to every logit,
with no softmax computed. Everything else is correct (and does not call softmax).
Expected: softmax earns nothing and is named ignores-input."""

import numpy as np


def logsumexp(z):
    z = np.asarray(z, dtype=float)
    c = z.max()
    return float(c + np.log(np.exp(z - c).sum()))


def softmax(Z):
    N, K = np.shape(Z)
    return np.full((N, K), 1.0 / K)  # "probabilities" that ignore the scores


def _softmax(Z):
    Z = np.asarray(Z, dtype=float)
    shifted = Z - Z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    s = _softmax(np.asarray(z, dtype=float)[None, :])[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = _softmax((T @ theta)[None, :])[0]
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W.T
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean() + 0.5 * reg * np.sum(W * W)

    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dW = dscores.T @ X / N + reg * W
    return loss, dW
