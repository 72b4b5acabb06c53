"""Sample submission `gradient-wrt-x-vector` (for the TA).

Mistake (one, in grad_quadform): the student returns the familiar
∇_x xᵀAx = (A + Aᵀ) x, a (D,) vector, where ∇_A xᵀAx = x xᵀ, a (D, D) matrix,
was asked for. The shape is wrong, but the numbers are exactly the gradient with
respect to the other argument: gradient-wrt-wrong-variable, not only wrong-shape.
Every other function is correct."""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    # d(x^T A x) = (A + A^T) x, then outer product with x to get a DxD matrix
    return (A + A.T) @ x


def _log_normal(X, mu, Sigma):
    N, D = X.shape
    K = mu.shape[0]
    out = np.empty((N, K))
    for k in range(K):
        L = np.linalg.cholesky(Sigma[k])
        z = np.linalg.solve(L, (X - mu[k]).T)
        out[:, k] = (
            -0.5 * D * np.log(2 * np.pi) - np.sum(np.log(np.diag(L))) - 0.5 * np.sum(z * z, axis=0)
        )
    return out


def log_likelihood(X, pi, mu, Sigma):
    a = np.log(pi) + _log_normal(X, mu, Sigma)
    c = a.max(axis=1, keepdims=True)
    return float(np.sum(c.ravel() + np.log(np.sum(np.exp(a - c), axis=1))))


def e_step(X, pi, mu, Sigma):
    a = np.log(pi) + _log_normal(X, mu, Sigma)
    a = a - a.max(axis=1, keepdims=True)
    q = np.exp(a)
    return q / q.sum(axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    K, D = mu.shape
    out = np.zeros((K, D))
    for k in range(K):
        resid = (q[:, k : k + 1] * (X - mu[k])).sum(axis=0)
        out[k] = np.linalg.solve(Sigma[k], resid)
    return out


def grad_precision(X, q, mu, Sigma):
    K, D = mu.shape
    out = np.zeros((K, D, D))
    for k in range(K):
        d = X - mu[k]
        scatter = (q[:, k, None] * d).T @ d
        out[k] = 0.5 * (q[:, k].sum() * Sigma[k] - scatter)
    return out


def m_step(X, q):
    N, D = X.shape
    K = q.shape[1]
    Nk = q.sum(axis=0)
    pi = Nk / N
    mu = q.T @ X / Nk[:, None]
    Sigma = np.zeros((K, D, D))
    for k in range(K):
        d = X - mu[k]
        Sigma[k] = (q[:, k, None] * d).T @ d / Nk[k]
    return pi, mu, Sigma
