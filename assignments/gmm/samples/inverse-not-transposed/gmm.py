"""Sample submission `inverse-not-transposed` (for the TA).

Mistake (one, in grad_logdet): the student remembers "the derivative of
log det A is A⁻¹" from the symmetric case and returns inv(A) instead of A⁻ᵀ.
Jacobi's formula d log det A = tr(A⁻¹ dA) gives ∂/∂A_ij = (A⁻¹)_ji, i.e. the
transpose. The two agree for symmetric A (and for D = 1), so the error is
only visible when grad_logdet is called on a non-symmetric matrix.

Everything else is correct. grad_precision is built from the student's own
grad_logdet and grad_quadform, but only on the symmetric Λ_k, where inv(Λ_k)
is right, so it is correct too: the grader must localise the mistake to
grad_logdet alone.

Expected verdict: graded, grad_logdet fails, mistakes = [inverse-not-transposed].
"""

import numpy as np


def grad_logdet(A):
    # d/dA log|A| = A^{-1}
    return np.linalg.inv(A)


def grad_quadform(A, x):
    return np.outer(x, x)


def _log_normal(X, mu, Sigma):
    # log N(x_n | mu_k, Sigma_k) for all n, k using a Cholesky factor
    N, D = X.shape
    K = mu.shape[0]
    out = np.empty((N, K))
    for k in range(K):
        L = np.linalg.cholesky(Sigma[k])
        z = np.linalg.solve(L, (X - mu[k]).T)  # (D, N)
        logdet = 2 * np.sum(np.log(np.diag(L)))
        out[:, k] = -0.5 * (D * np.log(2 * np.pi) + logdet + np.sum(z**2, axis=0))
    return out


def log_likelihood(X, pi, mu, Sigma):
    a = _log_normal(X, mu, Sigma) + np.log(pi)
    amax = a.max(axis=1)
    return np.sum(amax + np.log(np.exp(a - amax[:, None]).sum(axis=1)))


def e_step(X, pi, mu, Sigma):
    a = _log_normal(X, mu, Sigma) + np.log(pi)
    amax = a.max(axis=1, keepdims=True)
    w = np.exp(a - amax)
    return w / w.sum(axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    K, D = mu.shape
    g = np.zeros((K, D))
    for k in range(K):
        r = q[:, k] @ (X - mu[k])  # sum_n q_nk (x_n - mu_k)
        g[k] = np.linalg.solve(Sigma[k], r)
    return g


def grad_precision(X, q, mu, Sigma):
    # Q_k = sum_n q_nk [ 1/2 log|Lam_k| - 1/2 d^T Lam_k d ] + const
    K, D = mu.shape
    G = np.zeros((K, D, D))
    for k in range(K):
        Lam = np.linalg.inv(Sigma[k])
        for n in range(X.shape[0]):
            d = X[n] - mu[k]
            G[k] += q[n, k] * (0.5 * grad_logdet(Lam) - 0.5 * grad_quadform(Lam, d))
    return G


def m_step(X, q):
    N, D = X.shape
    Nk = q.sum(axis=0)
    pi = Nk / N
    mu = (q.T @ X) / Nk[:, None]
    Sigma = np.zeros((q.shape[1], D, D))
    for k in range(q.shape[1]):
        d = X - mu[k]
        Sigma[k] = (q[:, k, None] * d).T @ d / Nk[k]
    return pi, mu, Sigma
