"""Sample submission `sign-flipped` (for the TA).

Mistake (one, in grad_mu): the student differentiates the quadratic form with
the residual written as μ_k − x_n and loses the minus sign of −½ dᵀΛd, so the
returned value is the gradient of −Q (the descent direction):

    returned   Σ_n q_nk Λ_k (μ_k − x_n)   = −∂Q/∂μ_k
    correct    Σ_n q_nk Λ_k (x_n − μ_k)

Its zero is the same, so the M step is still correct.

Expected verdict: graded, grad_mu fails, mistakes = [sign-flipped].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def _log_terms(X, pi, mu, Sigma):
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]
    L = np.linalg.cholesky(Sigma)  # (K, D, D)
    z = np.linalg.solve(L[None], diff[..., None])[..., 0]  # (N, K, D)
    half_logdet = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    return np.log(pi) - half_logdet - 0.5 * D * np.log(2 * np.pi) - 0.5 * (z**2).sum(axis=2)


def log_likelihood(X, pi, mu, Sigma):
    t = _log_terms(X, pi, mu, Sigma)
    tmax = t.max(axis=1)
    return float(np.sum(tmax + np.log(np.exp(t - tmax[:, None]).sum(axis=1))))


def e_step(X, pi, mu, Sigma):
    t = _log_terms(X, pi, mu, Sigma)
    t = t - t.max(axis=1, keepdims=True)
    r = np.exp(t)
    return r / r.sum(axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    # d/dmu of -1/2 (mu - x)^T Lam (mu - x) = Lam (mu - x)
    diff = mu[None, :, :] - X[:, None, :]  # (N, K, D)
    s = np.einsum("nk,nkd->kd", q, diff)
    return np.linalg.solve(Sigma, s[..., None])[..., 0]


def grad_precision(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    S = np.einsum("nk,nki,nkj->kij", q, diff, diff)
    return 0.5 * (q.sum(axis=0)[:, None, None] * Sigma - S)


def m_step(X, q):
    Nk = q.sum(axis=0)
    pi = Nk / X.shape[0]
    mu = (q.T @ X) / Nk[:, None]
    diff = X[:, None, :] - mu[None, :, :]
    Sigma = np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
    return pi, mu, Sigma
