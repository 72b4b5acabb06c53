"""HW3 softmax regression.  (copied from ind_vectorised, every name changed)"""

import numpy as np


def logsumexp(vec):
    # subtract the largest entry first: exp(1000) would overflow
    vec = np.asarray(vec, dtype=float)
    biggest = vec.max()
    return float(biggest + np.log(np.exp(vec - biggest).sum()))


def softmax(logits):
    # stable version
    centred = logits - logits.max(axis=1, keepdims=True)
    ex = np.exp(centred)
    return ex / ex.sum(axis=1, keepdims=True)


def softmax_jacobian(v):
    p = softmax(v[None, :])[0]
    return np.diag(p) - np.outer(p, p)   # diag(s) - s s^T


def log_partition_grad(params, configs):
    weights = softmax((configs @ params)[None, :])[0]
    return configs.T @ weights


def log_likelihood_grad(params, observed, configs):
    return observed - log_partition_grad(params, configs)


def softmax_loss(weights, data, labels, lam):
    n = data.shape[0]
    s = data @ weights.T
    probs = softmax(s)
    right = probs[np.arange(n), labels]
    J = -np.mean(np.log(right)) + 0.5 * lam * np.sum(weights * weights)
    probs[np.arange(n), labels] -= 1.0
    grad = probs.T @ data / n + lam * weights
    return J, grad
