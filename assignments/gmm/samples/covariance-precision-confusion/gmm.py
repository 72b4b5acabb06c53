"""Sample submission `covariance-precision-confusion` (for the TA).

Mistake (one, in grad_mu): Σ_k is used where the precision Λ_k = Σ_k⁻¹
belongs. The student returns

    Σ_k Σ_n q_nk (x_n − μ_k)      instead of      Λ_k Σ_n q_nk (x_n − μ_k).

The direction is wrong whenever Σ_k is not a multiple of the identity, and the
scale is wrong unless Σ_k = I (also for D = 1). Its zero is the same, so the
M step (written separately) is still correct.

Expected verdict: graded, grad_mu fails, mistakes = [covariance-precision-confusion].
"""

import numpy as np

LOG2PI = np.log(2 * np.pi)


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    x = np.asarray(x)
    return x[:, None] * x[None, :]


def log_component_densities(X, mu, Sigma):
    """(N, K) matrix of log N(x_n; mu_k, Sigma_k)."""
    N, D = X.shape
    K = len(mu)
    logp = np.zeros((N, K))
    for k in range(K):
        L = np.linalg.cholesky(Sigma[k])
        y = np.linalg.solve(L, (X - mu[k]).T)
        logp[:, k] = -0.5 * np.sum(y**2, axis=0) - np.log(np.diag(L)).sum() - 0.5 * D * LOG2PI
    return logp


def logsumexp_rows(a):
    m = np.max(a, axis=1)
    return m + np.log(np.sum(np.exp(a - m[:, None]), axis=1))


def log_likelihood(X, pi, mu, Sigma):
    a = log_component_densities(X, mu, Sigma) + np.log(pi)
    return float(np.sum(logsumexp_rows(a)))


def e_step(X, pi, mu, Sigma):
    a = log_component_densities(X, mu, Sigma) + np.log(pi)
    return np.exp(a - logsumexp_rows(a)[:, None])


def grad_mu(X, q, mu, Sigma):
    K, D = mu.shape
    g = np.zeros((K, D))
    for k in range(K):
        s = np.sum(q[:, [k]] * (X - mu[k]), axis=0)
        g[k] = Sigma[k] @ s
    return g


def grad_precision(X, q, mu, Sigma):
    K, D = mu.shape
    g = np.zeros((K, D, D))
    for k in range(K):
        d = X - mu[k]
        g[k] = 0.5 * (np.sum(q[:, k]) * Sigma[k] - d.T @ (q[:, [k]] * d))
    return g


def m_step(X, q):
    N, D = X.shape
    K = q.shape[1]
    Nk = np.sum(q, axis=0)
    pi = Nk / N
    mu = np.zeros((K, D))
    Sigma = np.zeros((K, D, D))
    for k in range(K):
        mu[k] = q[:, k] @ X / Nk[k]
        d = X - mu[k]
        Sigma[k] = d.T @ (q[:, [k]] * d) / Nk[k]
    return pi, mu, Sigma
