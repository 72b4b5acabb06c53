"""Sample submission `missing-half` (for the TA).

Mistake (one, in grad_precision): the factor ½ in front of log det Λ_k and of
the quadratic form in Q is dropped when differentiating, so the student
returns

    Σ_n q_nk (Σ_k − d d ᵀ)      instead of      ½ Σ_n q_nk (Σ_k − d dᵀ),   d = x_n − μ_k,

exactly twice the correct gradient. Its zero is in the right place, so the
student's M step (derived from it) is still correct.

Expected verdict: graded, grad_precision fails, mistakes = [missing-half].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def _log_resp_unnormalised(X, pi, mu, Sigma):
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]
    sol = np.linalg.solve(Sigma[None, :, :, :], diff[..., None])[..., 0]  # Sigma^-1 d
    maha = np.sum(diff * sol, axis=-1)
    sign, logdet = np.linalg.slogdet(Sigma)
    return np.log(pi) - 0.5 * (D * np.log(2 * np.pi) + logdet + maha)


def log_likelihood(X, pi, mu, Sigma):
    a = _log_resp_unnormalised(X, pi, mu, Sigma)
    m = a.max(axis=1, keepdims=True)
    return float((m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))).sum())


def e_step(X, pi, mu, Sigma):
    a = _log_resp_unnormalised(X, pi, mu, Sigma)
    m = a.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))
    return np.exp(a - lse)


def grad_mu(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    r = np.einsum("nk,nkd->kd", q, diff)
    return np.linalg.solve(Sigma, r[..., None])[..., 0]


def grad_precision(X, q, mu, Sigma):
    # dQ/dLam_k = sum_n q_nk (Lam_k^{-1} - d d^T)
    diff = X[:, None, :] - mu[None, :, :]
    outer = np.einsum("nk,nki,nkj->kij", q, diff, diff)
    Nk = q.sum(axis=0)
    return Nk[:, None, None] * Sigma - outer


def m_step(X, q):
    Nk = q.sum(axis=0)
    pi = Nk / len(X)
    mu = (q.T @ X) / Nk[:, None]
    diff = X[:, None, :] - mu[None, :, :]
    Sigma = np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
    return pi, mu, Sigma
