"""Sample submission `crash-in-call` (for the TA).

Bug (one, in e_step): the file imports fine but e_step raises on the
grader's inputs. The student wrote e_step separately from log_likelihood
(which is correct) and forgot a transpose in the Mahalanobis term:

    np.linalg.solve(Sigma[k], diff)        # diff is (N, D); needs diff.T, (D, N)

numpy then reads `diff` as a (N, D) right-hand side for a (D, D) system and
raises ValueError ("mismatch in its core dimension") whenever N != D, e.g.
for N=9, D=3, K=2 or N=6, D=1, K=1, whatever K is. (Only for N == D would it
silently return wrong numbers.) The student apparently only tried a toy
example with two points in 2-D.

Expected verdict: graded, e_step fails (raises), mistakes = [crashed].
"""

import numpy as np


def grad_logdet(A):
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    return np.outer(x, x)


def log_likelihood(X, pi, mu, Sigma):
    D = X.shape[1]
    diff = X[:, None, :] - mu[None, :, :]
    maha = np.einsum("nki,kij,nkj->nk", diff, np.linalg.inv(Sigma), diff)
    logdet = np.linalg.slogdet(Sigma)[1]
    a = np.log(pi) - 0.5 * (D * np.log(2 * np.pi) + logdet + maha)
    m = a.max(axis=1, keepdims=True)
    return float(np.sum(m) + np.sum(np.log(np.exp(a - m).sum(axis=1))))


def e_step(X, pi, mu, Sigma):
    N, D = X.shape
    K = len(pi)
    logr = np.zeros((N, K))
    for k in range(K):
        diff = X - mu[k]
        sol = np.linalg.solve(Sigma[k], diff)
        maha = np.sum(diff * sol, axis=1)
        sign, logdet = np.linalg.slogdet(Sigma[k])
        logr[:, k] = np.log(pi[k]) - 0.5 * (D * np.log(2 * np.pi) + logdet + maha)
    logr -= logr.max(axis=1, keepdims=True)
    r = np.exp(logr)
    return r / r.sum(axis=1, keepdims=True)


def grad_mu(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    return np.einsum("kij,nk,nkj->ki", np.linalg.inv(Sigma), q, diff)


def grad_precision(X, q, mu, Sigma):
    diff = X[:, None, :] - mu[None, :, :]
    S = np.einsum("nk,nki,nkj->kij", q, diff, diff)
    return 0.5 * (q.sum(axis=0)[:, None, None] * Sigma - S)


def m_step(X, q):
    Nk = q.sum(axis=0)
    pi = Nk / len(X)
    mu = q.T @ X / Nk[:, None]
    diff = X[:, None, :] - mu[None, :, :]
    Sigma = np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
    return pi, mu, Sigma
