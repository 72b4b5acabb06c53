"""TA note: softmax divides by 1 + Σ exp(z) — a habit carried over from the sigmoid
1/(1 + exp(−z)) — so rows do not sum to 1 and adding a constant to every logit
changes the result; without the max subtraction it also overflows for large logits.
The other functions use a correct softmax of their own."""

import numpy as np


def logsumexp(z):
    z = np.asarray(z, dtype=float)
    c = z.max()
    return float(c + np.log(np.exp(z - c).sum()))


def _stable_softmax(Z):
    Z = np.asarray(Z, dtype=float)
    shifted = Z - Z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax(Z):
    # "1 + Σ exp" as in the sigmoid 1 / (1 + exp(−z)): one class too many
    Z = np.asarray(Z, dtype=float)
    e = np.exp(Z)
    return e / (1.0 + e.sum(axis=1, keepdims=True))


def softmax_jacobian(z):
    s = _stable_softmax(np.asarray(z, dtype=float)[None, :])[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = _stable_softmax((T @ theta)[None, :])[0]
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
