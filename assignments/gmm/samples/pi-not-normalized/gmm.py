"""Sample submission `pi-not-normalized` (for the TA).

Mistake (one, in m_step): the mixing weights are returned as π_k = N_k, the
effective counts, instead of π_k = N_k / N. Maximising Σ_k N_k log π_k subject
to Σ_k π_k = 1 gives N_k / π_k = λ with the Lagrange multiplier λ = N; the
student dropped the multiplier (and the constraint), so the returned π sums
to N. The returned μ and Σ are correct.

Expected verdict: graded, m_step fails, mistakes = [pi-not-normalized].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def log_gauss(X, m, S):
    D = X.shape[1]
    sign, logdet = np.linalg.slogdet(S)
    d = X - m
    maha = np.sum(d * np.linalg.solve(S, d.T).T, axis=1)
    return -0.5 * (maha + logdet + D * np.log(2 * np.pi))


def log_joint(X, pi, mu, Sigma):
    return np.column_stack([np.log(pi[k]) + log_gauss(X, mu[k], Sigma[k]) for k in range(len(pi))])


def log_likelihood(X, pi, mu, Sigma):
    lj = log_joint(X, pi, mu, Sigma)
    mx = lj.max(axis=1)
    return float(np.sum(mx + np.log(np.sum(np.exp(lj - mx[:, None]), axis=1))))


def e_step(X, pi, mu, Sigma):
    lj = log_joint(X, pi, mu, Sigma)
    mx = lj.max(axis=1)
    lse = mx + np.log(np.sum(np.exp(lj - mx[:, None]), axis=1))
    return np.exp(lj - lse[:, None])


def grad_mu(X, q, mu, Sigma):
    K = len(mu)
    rows = []
    for k in range(K):
        r = np.sum(q[:, k][:, None] * (X - mu[k]), axis=0)
        rows.append(np.linalg.solve(Sigma[k], r))
    return np.array(rows)


def grad_precision(X, q, mu, Sigma):
    K = len(mu)
    mats = []
    for k in range(K):
        d = X - mu[k]
        S = (q[:, k][:, None] * d).T @ d
        mats.append(0.5 * (np.sum(q[:, k]) * Sigma[k] - S))
    return np.array(mats)


def m_step(X, q):
    K = q.shape[1]
    Nk = np.sum(q, axis=0)
    # pi_k proportional to N_k
    pi = Nk
    mu = np.array([q[:, k] @ X / Nk[k] for k in range(K)])
    Sigma = []
    for k in range(K):
        d = X - mu[k]
        Sigma.append((q[:, k][:, None] * d).T @ d / Nk[k])
    return pi, mu, np.array(Sigma)
