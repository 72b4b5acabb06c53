"""TA note: mutates-inputs — a correct, stable solution whose softmax_loss
modifies its argument W in place: `reg_grad = W` is an alias, not a copy, so
`reg_grad *= reg` scales the caller's W. The loss is computed before that and
dW uses the scaled alias (= reg·W), so the returned numbers are exactly right.
The grader gives every call fresh copies of its inputs, so this must get full
marks (a good grader may warn about the mutation). Expected: full marks, no
mistakes."""

import numpy as np


def logsumexp(z):
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(np.reshape(z, (1, -1)))[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax(np.reshape(T @ theta, (1, -1)))[0]
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    S = X @ W.T
    S -= S.max(axis=1, keepdims=True)
    logP = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    loss = -np.mean(logP[np.arange(N), y]) + 0.5 * reg * np.sum(W * W)

    dS = np.exp(logP)
    dS[np.arange(N), y] -= 1

    reg_grad = W
    reg_grad *= reg
    dW = dS.T @ X / N + reg_grad
    return loss, dW
