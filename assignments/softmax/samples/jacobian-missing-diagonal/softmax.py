"""TA note: jacobian-missing-diagonal — everything is correct except
softmax_jacobian, which returns only −s sᵀ: the student derived
∂s_k/∂z_l = −s_k s_l for k ≠ l and used it for every entry, dropping the
diag(s) term that the quotient rule adds when k = l. Expected mistake:
jacobian-missing-diagonal, in softmax_jacobian only."""

import numpy as np


def logsumexp(z):
    c = np.max(z)
    return float(c + np.log(np.sum(np.exp(z - c))))


def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z[None, :])[0]
    # ds_k/dz_l = d/dz_l [exp(z_k) / sum_j exp(z_j)] = -exp(z_k) exp(z_l) / (sum)^2
    return -np.outer(s, s)


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
    loss = -np.mean(log_probs[np.arange(N), y]) + 0.5 * reg * np.sum(W * W)
    probs = np.exp(log_probs)
    probs[np.arange(N), y] -= 1
    dW = probs.T @ X / N + reg * W
    return loss, dW
