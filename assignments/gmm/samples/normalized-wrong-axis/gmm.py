"""Sample submission `normalized-wrong-axis` (for the TA).

Mistake (one, in e_step): the log-sum-exp that normalises the responsibilities
is taken over axis 0 (the samples) instead of axis 1 (the components). Each
column of the returned q sums to 1 instead of each row:

    returned   q_nk = π_k N(x_n; μ_k, Σ_k) / Σ_m π_k N(x_m; μ_k, Σ_k)
    correct    q_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j)

Still computed in the log domain, so it is finite for far points; wrong for
every input with N > 1 (also for K = 1, where the correct q is all ones).
log_likelihood, which uses the right axis, is correct.

Expected verdict: graded, e_step fails, mistakes = [normalized-wrong-axis].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def _log_pdf(X, mu, Sigma):
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]
    maha = np.einsum("nki,kij,nkj->nk", diff, np.linalg.inv(Sigma), diff)
    _, logdet = np.linalg.slogdet(Sigma)
    return -0.5 * (maha + logdet + D * np.log(2 * np.pi))


def _lse(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


def log_likelihood(X, pi, mu, Sigma):
    a = np.log(pi) + _log_pdf(X, mu, Sigma)
    return float(_lse(a, axis=1).sum())


def e_step(X, pi, mu, Sigma):
    a = np.log(pi) + _log_pdf(X, mu, Sigma)
    return np.exp(a - _lse(a, axis=0))


def grad_mu(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    s = (q[:, :, None] * diff).sum(axis=0)
    return np.linalg.solve(Sigma, s[:, :, None])[:, :, 0]


def grad_precision(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    Nk = q.sum(axis=0)
    S = np.einsum("nk,nki,nkj->kij", q, diff, diff)
    return 0.5 * Nk[:, None, None] * Sigma - 0.5 * S


def m_step(X, q):
    N = X.shape[0]
    Nk = q.sum(axis=0)
    pi = Nk / N
    mu = q.T @ X / Nk[:, None]
    diff = X[:, None, :] - mu[None, :, :]
    Sigma = np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
    return pi, mu, Sigma
