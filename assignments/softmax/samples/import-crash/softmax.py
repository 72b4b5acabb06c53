"""TA note: import-crash — the six functions are correct, but at import time the
module loads a local data file "weights.npy" (left over from the student's own
experiments) that is not part of the submission, so importing raises
FileNotFoundError. The submission cannot be loaded at all. Expected:
status "error", zero score, no function checked."""

import numpy as np

# my trained weights from the experiments notebook
W_TRAINED = np.load("weights.npy")


def logsumexp(z):
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z[None, :])[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    return T.T @ softmax((T @ theta)[None, :])[0]


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    S = X @ W.T
    S = S - S.max(axis=1, keepdims=True)
    logP = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    loss = -logP[np.arange(N), y].mean() + 0.5 * reg * np.sum(W * W)
    G = np.exp(logP)
    G[np.arange(N), y] -= 1
    return loss, G.T @ X / N + reg * W


if __name__ == "__main__":
    D = W_TRAINED.shape[1]
    print(softmax_loss(W_TRAINED, np.eye(D), np.zeros(D, dtype=int), 0.0)[0])
