"""Sample submission `symmetric-gradient-convention` (for the TA).

Mistake (one, in grad_precision): the student remembers that Λ_k is symmetric
and applies the "symmetric matrix" rule of the Matrix Cookbook: Λ_ij and Λ_ji
are one variable, so every off-diagonal derivative is counted twice. With G
the requested all-entries gradient ½ Σ_n q_nk (Σ_k − d dᵀ), they return

    2G − diag(G)          (the gradient over the unique entries of Λ_k)

instead of G. The diagonal is right and the off-diagonal entries are doubled,
so for D = 1 the answer coincides with G; it is wrong as soon as D >= 2 and G
has non-zero off-diagonal entries.

Expected verdict: graded, grad_precision fails, mistakes = [symmetric-gradient-convention].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def _log_joint(X, pi, mu, Sigma):
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]
    P = np.linalg.inv(Sigma)
    maha = np.einsum("nki,kij,nkj->nk", diff, P, diff)
    logdet = np.linalg.slogdet(Sigma)[1]
    return np.log(pi) - 0.5 * logdet - 0.5 * D * np.log(2 * np.pi) - 0.5 * maha


def log_likelihood(X, pi, mu, Sigma):
    a = _log_joint(X, pi, mu, Sigma)
    amax = np.max(a, axis=1, keepdims=True)
    return float(np.sum(amax) + np.sum(np.log(np.sum(np.exp(a - amax), axis=1))))


def e_step(X, pi, mu, Sigma):
    a = _log_joint(X, pi, mu, Sigma)
    a = a - np.max(a, axis=1, keepdims=True)
    r = np.exp(a)
    return r / np.sum(r, axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    return np.einsum("kij,nk,nkj->ki", np.linalg.inv(Sigma), q, diff)


def grad_precision(X, q, mu, Sigma):
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]
    Nk = q.sum(axis=0)
    G = 0.5 * (Nk[:, None, None] * Sigma - np.einsum("nk,nki,nkj->kij", q, diff, diff))
    # Lambda is symmetric: dQ/dLambda = 2G - diag(G)
    return 2 * G - G * np.eye(D)[None, :, :]


def m_step(X, q):
    Nk = q.sum(axis=0)
    pi = Nk / X.shape[0]
    mu = np.einsum("nk,nd->kd", q, X) / Nk[:, None]
    diff = X[:, None, :] - mu[None, :, :]
    Sigma = np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
    return pi, mu, Sigma
