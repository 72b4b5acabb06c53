"""Reference of ``mit686x-em`` (MIT 6.86x, project "Netflix", naive_em.py).

X (n, d) data; a mixture of K spherical Gaussians θ = (μ, σ², p) with μ (K, d),
σ² (K,), p (K,) (common.GaussianMixture);

    N(x; μ_j, σ_j² I) = (2π σ_j²)^(−d/2) exp(−‖x − μ_j‖² / (2σ_j²))
    E step: p(j | i) = p_j N(x_i; μ_j, σ_j² I) / Σ_l p_l N(x_i; μ_l, σ_l² I)
            ℓ(θ) = Σ_i log Σ_j p_j N(x_i; μ_j, σ_j² I)
    M step: n̂_j = Σ_i p(j | i),  p̂_j = n̂_j / n,  μ̂_j = Σ_i p(j | i) x_i / n̂_j,
            σ̂_j² = Σ_i p(j | i) ‖x_i − μ̂_j‖² / (d n̂_j)

Log-domain throughout (log-sum-exp), so points far from every mean keep finite
posteriors and log-likelihood.
"""


import numpy as np
from common import GaussianMixture


def _log_joint(X: np.ndarray, mixture: GaussianMixture) -> np.ndarray:
    """log p_j + log N(x_i; μ_j, σ_j² I), shape (n, K)."""
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    sq = ((X[:, None, :] - mixture.mu[None, :, :]) ** 2).sum(axis=2)
    return np.log(mixture.p) - 0.5 * d * np.log(2 * np.pi * mixture.var) - sq / (2 * mixture.var)


def estep(X: np.ndarray, mixture: GaussianMixture) -> tuple[np.ndarray, float]:
    """The posterior p(j | i) (n, K) and the log-likelihood ℓ(θ) of X."""
    f = _log_joint(X, mixture)
    m = f.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(f - m).sum(axis=1, keepdims=True))
    return np.exp(f - lse), float(lse.sum())


def mstep(X: np.ndarray, post: np.ndarray) -> GaussianMixture:
    """The mixture maximising the expected complete-data log-likelihood for ``post``."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    n_hat = post.sum(axis=0)
    mu = post.T @ X / n_hat[:, None]
    sq = ((X[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2)
    var = (post * sq).sum(axis=0) / (d * n_hat)
    return GaussianMixture(mu, var, n_hat / n)
