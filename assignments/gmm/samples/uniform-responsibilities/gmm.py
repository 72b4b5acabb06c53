"""TA note: uniform-responsibilities — e_step returns q = 1/K for every point and
component, whatever X, π, μ and Σ are: rows that sum to 1 with nothing computed.
Everything else is correct. Expected: e_step earns nothing and is named ignores-input."""

import numpy as np


def grad_logdet(A):
    # d log det A = tr(A^-1 dA)  =>  gradient is A^-T
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    # x^T A x = sum_ij x_i A_ij x_j
    return np.outer(x, x)


def _log_gauss(X, mu, Sigma):
    """log N(x_n; mu_k, Sigma_k) as an (N, K) array."""
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]  # (N, K, D)
    prec = np.linalg.inv(Sigma)  # (K, D, D)
    maha = np.einsum("nki,kij,nkj->nk", diff, prec, diff)
    _, logdet = np.linalg.slogdet(Sigma)  # (K,)
    return -0.5 * (D * np.log(2 * np.pi) + logdet[None, :] + maha)


def _logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))


def log_likelihood(X, pi, mu, Sigma):
    a = np.log(pi)[None, :] + _log_gauss(X, mu, Sigma)
    return float(np.sum(_logsumexp(a, axis=1)))


def e_step(X, pi, mu, Sigma):
    N, K = X.shape[0], len(pi)
    return np.full((N, K), 1.0 / K)  # every point shared equally: no densities at all


def grad_mu(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]  # (N, K, D)
    s = np.einsum("nk,nkd->kd", q, diff)  # sum_n q_nk (x_n - mu_k)
    return np.einsum("kij,kj->ki", np.linalg.inv(Sigma), s)


def grad_precision(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    S = np.einsum("nk,nki,nkj->kij", q, diff, diff)
    Nk = q.sum(axis=0)
    return 0.5 * (Nk[:, None, None] * Sigma - S)


def m_step(X, q):
    N = X.shape[0]
    Nk = q.sum(axis=0)
    pi = Nk / N
    mu = (q.T @ X) / Nk[:, None]
    diff = X[:, None, :] - mu[None, :, :]
    Sigma = np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
    return pi, mu, Sigma
