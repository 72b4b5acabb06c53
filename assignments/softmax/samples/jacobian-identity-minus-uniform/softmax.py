"""TA note: jacobian-identity-minus-uniform — softmax_jacobian returns I − 1/K (the
Jacobian of a softmax at z = 0, scaled by K), whatever z is: its rows sum to 0 like the
real Jacobian's, but it does not depend on z. Everything else is correct.
Expected: softmax_jacobian earns nothing and is named ignores-input."""

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
    K = len(z)
    return np.eye(K) - np.full((K, K), 1.0 / K)


def log_partition_grad(theta, T):
    p = softmax((T @ theta)[None, :])[0]
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
