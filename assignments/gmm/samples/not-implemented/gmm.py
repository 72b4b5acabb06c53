"""Sample submission `not-implemented` (for the TA).

An unfinished homework handed in as is: grad_logdet and grad_quadform are
done (and correct); the other five functions still hold the starter's
`raise NotImplementedError`.

Expected verdict: graded (the file loads), grad_logdet and grad_quadform pass,
log_likelihood, e_step, grad_mu, grad_precision and m_step fail,
mistakes = [not-implemented].
"""

import numpy as np


def grad_logdet(A):
    """Jacobi: d log det A = tr(A^-1 dA), so the gradient is A^-T."""
    return np.linalg.inv(A).T


def grad_quadform(A, x):
    """x^T A x = sum_ij A_ij x_i x_j, so the gradient is x x^T."""
    return np.outer(x, x)


def log_likelihood(X, pi, mu, Sigma):
    # TODO
    raise NotImplementedError


def e_step(X, pi, mu, Sigma):
    # TODO
    raise NotImplementedError


def grad_mu(X, q, mu, Sigma):
    # TODO
    raise NotImplementedError


def grad_precision(X, q, mu, Sigma):
    # TODO
    raise NotImplementedError


def m_step(X, q):
    # TODO
    raise NotImplementedError
