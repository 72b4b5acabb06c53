"""TA note: unstable-softmax — the formulas are all right, but nothing subtracts
the maximum logit: softmax is exp(Z) / Σ exp(Z), logsumexp is log(Σ exp(z)) and
the loss takes log of the naive probabilities. Correct on ordinary inputs;
exp overflows (inf/inf = NaN, log(inf) = inf) as soon as a logit exceeds ~709,
e.g. logits shifted by +1000 or of size 1e4. Every function goes through the
naive exponentials, so all six fail on huge logits. Expected mistake:
unstable-softmax."""

import numpy as np


def logsumexp(z):
    return float(np.log(np.sum(np.exp(z))))


def softmax(Z):
    expZ = np.exp(Z)
    return expZ / np.sum(expZ, axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z.reshape(1, -1))[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax((T @ theta).reshape(1, -1))[0]
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    P = softmax(X @ W.T)
    loss = -np.mean(np.log(P[np.arange(N), y])) + 0.5 * reg * np.sum(W ** 2)
    Y = np.zeros_like(P)
    Y[np.arange(N), y] = 1
    dW = (P - Y).T @ X / N + reg * W
    return loss, dW
