"""TA note: correct-loops — correct and numerically stable, but written with
explicit Python for-loops over samples and classes instead of vectorised
numpy. Expected: full marks, no mistakes (slower, same numbers to ~1e-12)."""

import math

import numpy as np


def logsumexp(z):
    m = -math.inf
    for v in z:
        if v > m:
            m = float(v)
    total = 0.0
    for v in z:
        total += math.exp(float(v) - m)
    return m + math.log(total)


def softmax(Z):
    N, K = Z.shape
    out = np.zeros((N, K))
    for n in range(N):
        m = max(Z[n, k] for k in range(K))
        denom = 0.0
        for k in range(K):
            out[n, k] = math.exp(Z[n, k] - m)
            denom += out[n, k]
        for k in range(K):
            out[n, k] /= denom
    return out


def softmax_jacobian(z):
    K = len(z)
    s = softmax(np.array(z, dtype=float).reshape(1, K))[0]
    J = np.zeros((K, K))
    for k in range(K):
        for l in range(K):
            if k == l:
                J[k, l] = s[k] * (1 - s[l])
            else:
                J[k, l] = -s[k] * s[l]
    return J


def log_partition_grad(theta, T):
    M, D = T.shape
    scores = np.zeros(M)
    for m in range(M):
        for d in range(D):
            scores[m] += theta[d] * T[m, d]
    p = softmax(scores.reshape(1, M))[0]
    grad = np.zeros(D)
    for m in range(M):
        for d in range(D):
            grad[d] += p[m] * T[m, d]
    return grad


def log_likelihood_grad(theta, tau, T):
    expected = log_partition_grad(theta, T)
    grad = np.zeros(len(tau))
    for d in range(len(tau)):
        grad[d] = tau[d] - expected[d]
    return grad


def softmax_loss(W, X, y, reg):
    N, D = X.shape
    K = W.shape[0]
    loss = 0.0
    dW = np.zeros((K, D))
    for n in range(N):
        scores = np.zeros(K)
        for k in range(K):
            for d in range(D):
                scores[k] += W[k, d] * X[n, d]
        lse = logsumexp(scores)
        loss -= scores[y[n]] - lse
        for k in range(K):
            p = math.exp(scores[k] - lse)
            if k == y[n]:
                p -= 1.0
            for d in range(D):
                dW[k, d] += p * X[n, d]
    loss /= N
    for k in range(K):
        for d in range(D):
            loss += 0.5 * reg * W[k, d] ** 2
            dW[k, d] = dW[k, d] / N + reg * W[k, d]
    return loss, dW
