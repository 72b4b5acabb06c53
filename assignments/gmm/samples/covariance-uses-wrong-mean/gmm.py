"""Sample submission `covariance-uses-wrong-mean` (for the TA).

Mistake (one, in m_step): Σ_k is accumulated around the overall data mean
x̄ = (1/N) Σ_n x_n instead of around the new component mean μ_k:

    returned   Σ_k = Σ_n q_nk (x_n − x̄)(x_n − x̄)ᵀ / N_k
    correct    Σ_k = Σ_n q_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k,  μ_k = Σ_n q_nk x_n / N_k

(the student computed the "centred data" once, before the loop over k). The
returned π and μ are right. With K = 1 (q all ones) μ_1 = x̄ and the answer
happens to be correct; for K >= 2 it is wrong (the error is
(N_k)(μ_k − x̄)(μ_k − x̄)ᵀ / N_k = (μ_k − x̄)(μ_k − x̄)ᵀ).

Expected verdict: graded, m_step fails, mistakes = [covariance-uses-wrong-mean].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def log_joint(X, pi, mu, Sigma):
    N, D = X.shape
    K = len(pi)
    out = np.zeros((N, K))
    for k in range(K):
        sign, logdet = np.linalg.slogdet(Sigma[k])
        d = X - mu[k]
        maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma[k]), d)
        out[:, k] = np.log(pi[k]) - 0.5 * (D * np.log(2 * np.pi) + logdet + maha)
    return out


def log_likelihood(X, pi, mu, Sigma):
    a = log_joint(X, pi, mu, Sigma)
    b = np.max(a, axis=1, keepdims=True)
    return float(np.sum(b[:, 0] + np.log(np.sum(np.exp(a - b), axis=1))))


def e_step(X, pi, mu, Sigma):
    a = log_joint(X, pi, mu, Sigma)
    b = np.max(a, axis=1, keepdims=True)
    e = np.exp(a - b)
    return e / np.sum(e, axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    K, D = mu.shape
    g = np.zeros((K, D))
    for k in range(K):
        g[k] = np.linalg.solve(Sigma[k], (X - mu[k]).T @ q[:, k])
    return g


def grad_precision(X, q, mu, Sigma):
    K, D = mu.shape
    g = np.zeros((K, D, D))
    for k in range(K):
        d = X - mu[k]
        g[k] = 0.5 * q[:, k].sum() * Sigma[k] - 0.5 * np.einsum("n,ni,nj->ij", q[:, k], d, d)
    return g


def m_step(X, q):
    N, D = X.shape
    K = q.shape[1]
    Nk = q.sum(axis=0)
    pi = Nk / N
    mu = np.zeros((K, D))
    Sigma = np.zeros((K, D, D))
    Xc = X - X.mean(axis=0)  # centred data
    for k in range(K):
        mu[k] = q[:, k] @ X / Nk[k]
        Sigma[k] = np.einsum("n,ni,nj->ij", q[:, k], Xc, Xc) / Nk[k]
    return pi, mu, Sigma
