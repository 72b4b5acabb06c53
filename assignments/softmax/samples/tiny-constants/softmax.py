"""TA note: tiny-constants — every function returns the smallest positive float
(5e-324) instead of a placeholder zero: not zero to an `== 0` test, zero to every
other. Rows of 5e-324 "sum to 0" and a constant loss with a constant gradient looks
self-consistent. Expected: 0 points, named not-implemented."""

import numpy as np

TINY = 5e-324


def logsumexp(z):
    return TINY


def softmax(Z):
    return np.full(np.shape(Z), TINY)


def softmax_jacobian(z):
    k = len(z)
    return np.full((k, k), TINY)


def log_partition_grad(theta, T):
    return np.full(np.shape(theta), TINY)


def log_likelihood_grad(theta, tau, T):
    return np.full(np.shape(theta), TINY)


def softmax_loss(W, X, y, reg):
    return TINY, np.full(np.shape(W), TINY)
