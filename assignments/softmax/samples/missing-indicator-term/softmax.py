"""TA note: missing-indicator-term — everything is correct except the gradient
of softmax_loss, which keeps only the expectation term: dW = (1/N) PᵀX + reg·W.
The student forgot that the data term −log P[n, y_n] = −s_{y_n} + log Σ exp s
contributes −Y (the one-hot labels), i.e. the `P − Y` step. The loss is right.
Expected mistake: missing-indicator-term, in softmax_loss only."""

import numpy as np


def logsumexp(z):
    z = np.asarray(z, dtype=float)
    mx = z.max()
    return mx + float(np.log(np.sum(np.exp(z - mx))))


def softmax(Z):
    Z = np.asarray(Z, dtype=float)
    ex = np.exp(Z - Z.max(axis=1, keepdims=True))
    return ex / ex.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(np.reshape(z, (1, -1)))[0]
    return np.diag(s) - s[:, None] * s[None, :]


def log_partition_grad(theta, T):
    return T.T @ softmax(np.reshape(T @ theta, (1, -1)))[0]


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W.T
    scores = scores - np.max(scores, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(scores), axis=1))
    loss = np.mean(lse - scores[np.arange(n), y]) + 0.5 * reg * np.sum(W * W)

    probs = softmax(scores)
    # gradient of the cross-entropy wrt the scores is the probabilities
    dscores = probs / n
    dW = dscores.T @ X + reg * W
    return loss, dW
