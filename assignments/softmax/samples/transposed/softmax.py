"""TA note: transposed — everything is correct except the layout of the gradient
of softmax_loss: the student used the (D, K) convention of the lecture's
"W maps features to classes" variant and returned dW = Xᵀ(P − Y)/N + reg·Wᵀ,
i.e. the correct gradient transposed, shape (D, K) instead of (K, D). The loss
is right. Expected mistake: transposed, in softmax_loss only."""

import numpy as np


def logsumexp(z):
    m = z.max()
    return float(np.log(np.exp(z - m).sum()) + m)


def softmax(Z):
    m = Z.max(axis=-1, keepdims=True)
    e = np.exp(Z - m)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z)
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    return T.T @ softmax(T @ theta)


def log_likelihood_grad(theta, tau, T):
    return tau - T.T @ softmax(T @ theta)


def softmax_loss(W, X, y, reg):
    N = len(y)
    S = X @ W.T                     # (N, K)
    m = S.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(S - m).sum(axis=1))
    loss = np.mean(lse - S[np.arange(N), y]) + reg / 2 * np.sum(W ** 2)

    P = softmax(S)
    P[np.arange(N), y] -= 1         # P - Y
    dW = X.T @ P / N + reg * W.T    # (D, K)
    return loss, dW
