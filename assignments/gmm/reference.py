"""Reference solution of the ``gmm`` assignment (SPEC §2).

Conventions, as in the student's ``gmm.py``:

* ``X`` (N, D) data, one sample x_n per row;
* ``pi`` (K,) mixing weights π_k (positive, summing to 1);
* ``mu`` (K, D) means, row k is μ_k;
* ``Sigma`` (K, D, D) covariances, ``Sigma[k]`` is Σ_k (symmetric positive definite);
* ``q`` (N, K) responsibilities, q_nk >= 0 and every row sums to 1;
* Λ_k = Σ_k⁻¹ is the precision of component k; N_k = Σ_n q_nk.

The expected complete-data log-likelihood maximised by EM is

    Q = Σ_n Σ_k q_nk [log π_k + ½ log det Λ_k − ½ (x_n − μ_k)ᵀ Λ_k (x_n − μ_k) − (D/2) log 2π].

Every function works in float64 and never modifies its arguments. Gaussian
densities are only ever handled as logarithms: with the Cholesky factor
Σ_k = L_k L_kᵀ,

    log N(x; μ_k, Σ_k) = −½ (D log 2π + 2 Σ_i log (L_k)_ii + ‖L_k⁻¹ (x − μ_k)‖²),

and sums over components go through log-sum-exp, so the log-likelihood and the
responsibilities stay finite (and exact) for points 50σ or more from every
mean, where each density alone underflows to 0 in float64 (exp(−1250)).
Λ_k is never formed explicitly: Λ_k v is computed as ``solve(Σ_k, v)``.
"""

from __future__ import annotations

import numpy as np

_LOG_2PI = float(np.log(2.0 * np.pi))


def _as_float(a: object) -> np.ndarray:
    """Return ``a`` as a float64 array (no copy when it already is one)."""
    return np.asarray(a, dtype=np.float64)


def _residuals(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """d_nk = x_n − μ_k for every pair, shape (N, K, D)."""
    return X[:, None, :] - mu[None, :, :]


def _log_gaussian(X: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """log N(x_n; μ_k, Σ_k) for every n and k, shape (N, K).

    With Σ_k = L_k L_kᵀ and z_nk = L_k⁻¹ (x_n − μ_k), the Mahalanobis term is
    (x_n − μ_k)ᵀ Λ_k (x_n − μ_k) = ‖z_nk‖² and log det Σ_k = 2 Σ_i log (L_k)_ii.
    No exponential is taken, so the result is finite however far x_n lies.
    """
    D = X.shape[1]
    L = np.linalg.cholesky(Sigma)  # (K, D, D), lower triangular
    # one triangular system per component, all N right-hand sides at once
    rhs = np.transpose(_residuals(X, mu), (1, 2, 0))  # (K, D, N)
    z = np.linalg.solve(L, rhs)  # (K, D, N)
    maha = np.sum(z * z, axis=1).T  # (N, K)
    log_det = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)  # (K,)
    return -0.5 * (D * _LOG_2PI + log_det[None, :] + maha)


def _log_joint(X: np.ndarray, pi: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """a_nk = log π_k + log N(x_n; μ_k, Σ_k), shape (N, K); π_k = 0 gives −inf."""
    with np.errstate(divide="ignore"):
        log_pi = np.log(pi)
    return log_pi[None, :] + _log_gaussian(X, mu, Sigma)


def _logsumexp_rows(A: np.ndarray) -> np.ndarray:
    """log Σ_k exp(a_nk) for every row n, shape (N,).

    Uses log Σ_k exp(a_k) = c + log Σ_k exp(a_k − c) with c = max_k a_k: the
    exponents are <= 0 and the largest is 0, so the sum lies in [1, K] and
    neither overflows nor underflows. A row whose max is not finite is shifted
    by 0 so that −inf − (−inf) does not manufacture a NaN.
    """
    c = np.max(A, axis=1, keepdims=True)
    c = np.where(np.isfinite(c), c, 0.0)
    return c[:, 0] + np.log(np.sum(np.exp(A - c), axis=1))


def grad_logdet(A: np.ndarray) -> np.ndarray:
    """Gradient of log det A with respect to every entry of A.

    Jacobi's formula d log det A = tr(A⁻¹ dA) = Σ_ij (A⁻¹)_ji dA_ij gives

        ∇_A log det A = A⁻ᵀ,

    for any invertible A, symmetric or not (for symmetric A it equals A⁻¹).

    Args:
        A: (D, D) invertible matrix.

    Returns:
        (D, D) float64 array A⁻ᵀ.
    """
    A = _as_float(A)
    return np.ascontiguousarray(np.linalg.inv(A).T)


def grad_quadform(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of the quadratic form xᵀAx with respect to the matrix A.

    xᵀAx = Σ_ij x_i A_ij x_j is linear in A, so ∂(xᵀAx)/∂A_ij = x_i x_j:

        ∇_A xᵀAx = x xᵀ.

    (Not to be confused with ∇_x xᵀAx = (A + Aᵀ) x.) The value does not
    depend on A; A is taken for the signature only.

    Args:
        A: (D, D) matrix.
        x: (D,) vector.

    Returns:
        (D, D) float64 array x xᵀ.
    """
    x = _as_float(x).ravel()
    return np.outer(x, x)


def log_likelihood(X: np.ndarray, pi: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> float:
    """Log-likelihood of the data under the mixture.

        ℓ = Σ_n log Σ_k π_k N(x_n; μ_k, Σ_k)
          = Σ_n logsumexp_k (log π_k + log N(x_n; μ_k, Σ_k)),

    with log N from a Cholesky factorisation (see the module docstring). The
    inner sum is a log-sum-exp, so ℓ is finite even when every density of a
    point underflows to 0 (points ~50σ from every mean).

    Args:
        X: (N, D) data.
        pi: (K,) mixing weights.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        ℓ as a Python float.
    """
    X, pi, mu, Sigma = _as_float(X), _as_float(pi), _as_float(mu), _as_float(Sigma)
    return float(np.sum(_logsumexp_rows(_log_joint(X, pi, mu, Sigma))))


def e_step(X: np.ndarray, pi: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Responsibilities (posterior of the component given the point).

        q_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j)
             = exp(a_nk − logsumexp_j a_nj),  a_nk = log π_k + log N(x_n; μ_k, Σ_k).

    Normalised over the components k (each row sums to 1). Computed in the log
    domain, so a point far from every mean still gets a proper distribution
    (instead of 0/0).

    Args:
        X: (N, D) data.
        pi: (K,) mixing weights.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        (N, K) float64 array q; q_nk >= 0 and Σ_k q_nk = 1.
    """
    X, pi, mu, Sigma = _as_float(X), _as_float(pi), _as_float(mu), _as_float(Sigma)
    A = _log_joint(X, pi, mu, Sigma)
    return np.exp(A - _logsumexp_rows(A)[:, None])


def grad_mu(X: np.ndarray, q: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Gradient of Q with respect to each mean μ_k.

    Only −½ Σ_n q_nk (x_n − μ_k)ᵀ Λ_k (x_n − μ_k) depends on μ_k, and Λ_k is
    symmetric, so

        ∂Q/∂μ_k = Σ_n q_nk Λ_k (x_n − μ_k) = Λ_k (Σ_n q_nk x_n − N_k μ_k).

    Λ_k r is computed as solve(Σ_k, r), without inverting Σ_k.

    Args:
        X: (N, D) data.
        q: (N, K) responsibilities.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances (Λ_k = Σ_k⁻¹).

    Returns:
        (K, D) float64 array whose row k is ∂Q/∂μ_k.
    """
    X, q, mu, Sigma = _as_float(X), _as_float(q), _as_float(mu), _as_float(Sigma)
    N_k = np.sum(q, axis=0)  # (K,)
    r = q.T @ X - N_k[:, None] * mu  # (K, D): Σ_n q_nk (x_n − μ_k)
    return np.linalg.solve(Sigma, r[:, :, None])[:, :, 0]


def grad_precision(X: np.ndarray, q: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Gradient of Q with respect to each precision Λ_k = Σ_k⁻¹, all D² entries.

    The entries of Λ_k are taken as independent variables (no symmetry
    constraint). With d_nk = x_n − μ_k, ∇_Λ log det Λ = Λ⁻ᵀ = Σ_k and
    ∇_Λ dᵀΛd = d dᵀ, hence

        ∂Q/∂Λ_k = ½ Σ_n q_nk (Σ_k − d_nk d_nkᵀ) = ½ (N_k Σ_k − Σ_n q_nk d_nk d_nkᵀ).

    This is the "all entries" gradient G; the gradient over the unique entries
    of a symmetric Λ_k would be 2G − diag(G), which is not what is asked.

    Args:
        X: (N, D) data.
        q: (N, K) responsibilities.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        (K, D, D) float64 array whose slice k is ∂Q/∂Λ_k.
    """
    X, q, mu, Sigma = _as_float(X), _as_float(q), _as_float(mu), _as_float(Sigma)
    d = _residuals(X, mu)  # (N, K, D)
    S = np.einsum("nk,nki,nkj->kij", q, d, d)  # Σ_n q_nk d dᵀ
    N_k = np.sum(q, axis=0)
    return 0.5 * (N_k[:, None, None] * Sigma - S)


def m_step(X: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximise Q over (π, μ, Σ) for fixed responsibilities q.

    With N_k = Σ_n q_nk (assumed > 0):

        π_k = N_k / N                       (Lagrange multiplier of Σ_k π_k = 1 is N)
        μ_k = Σ_n q_nk x_n / N_k            (from ∂Q/∂μ_k = 0)
        Σ_k = Σ_n q_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k   (from ∂Q/∂Λ_k = 0, around the new μ_k)

    Σ_k is symmetrised explicitly, so it is exactly symmetric in floating point.

    Args:
        X: (N, D) data.
        q: (N, K) responsibilities.

    Returns:
        ``(pi, mu, Sigma)`` with shapes (K,), (K, D) and (K, D, D).
    """
    X, q = _as_float(X), _as_float(q)
    N = X.shape[0]
    N_k = np.sum(q, axis=0)  # (K,)
    pi = N_k / N
    mu = (q.T @ X) / N_k[:, None]
    d = _residuals(X, mu)
    S = np.einsum("nk,nki,nkj->kij", q, d, d) / N_k[:, None, None]
    Sigma = 0.5 * (S + np.transpose(S, (0, 2, 1)))
    return pi, mu, Sigma
