"""Sample submission `unstable-logsumexp` (for the TA).

Mistake (one, the same in log_likelihood and e_step): the densities are
exponentiated directly, π_k N(x_n; μ_k, Σ_k) with np.exp, and only then summed
and logged / normalised, without the log-sum-exp trick. Values are right for
ordinary inputs, but for a point roughly 39σ or more from every mean (the
grader uses ~50σ) every density underflows to 0.0 in float64 (exp(−745) is
the last non-zero value), so

    log_likelihood  → log(0) = −inf
    e_step          → 0/0 = NaN in that point's row.

Both functions fail only on the far-point inputs. grad_mu, grad_precision and
m_step take q from the grader, so they are unaffected and correct.

Expected verdict: graded, log_likelihood and e_step fail, mistakes = [unstable-logsumexp].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def gaussian_pdf(X, m, S):
    D = X.shape[1]
    d = X - m
    Sinv = np.linalg.inv(S)
    norm = 1.0 / np.sqrt((2 * np.pi) ** D * np.linalg.det(S))
    return norm * np.exp(-0.5 * np.sum((d @ Sinv) * d, axis=1))


def weighted_densities(X, pi, mu, Sigma):
    N = X.shape[0]
    K = len(pi)
    P = np.zeros((N, K))
    for k in range(K):
        P[:, k] = pi[k] * gaussian_pdf(X, mu[k], Sigma[k])
    return P


def log_likelihood(X, pi, mu, Sigma):
    P = weighted_densities(X, pi, mu, Sigma)
    return float(np.sum(np.log(np.sum(P, axis=1))))


def e_step(X, pi, mu, Sigma):
    P = weighted_densities(X, pi, mu, Sigma)
    return P / np.sum(P, axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    K, D = mu.shape
    g = np.zeros((K, D))
    for k in range(K):
        Sinv = np.linalg.inv(Sigma[k])
        g[k] = Sinv @ np.sum(q[:, k : k + 1] * (X - mu[k]), axis=0)
    return g


def grad_precision(X, q, mu, Sigma):
    K, D = mu.shape
    G = np.zeros((K, D, D))
    for k in range(K):
        d = X - mu[k]
        G[k] = 0.5 * (q[:, k].sum() * Sigma[k] - (q[:, k : k + 1] * d).T @ d)
    return G


def m_step(X, q):
    N, D = X.shape
    K = q.shape[1]
    Nk = q.sum(axis=0)
    pi = Nk / N
    mu = (q.T @ X) / Nk[:, None]
    Sigma = np.zeros((K, D, D))
    for k in range(K):
        d = X - mu[k]
        Sigma[k] = (q[:, k : k + 1] * d).T @ d / Nk[k]
    return pi, mu, Sigma
