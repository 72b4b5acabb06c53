"""The course's shared types for the Netflix project, as gradgrader ships them.

Copied read-only beside every submission (``helpers`` in assignment.toml), so that
``from common import GaussianMixture`` works in the student's naive_em.py; the grader
builds the ``mixture`` argument of estep with this class inside the sandbox.
"""

from typing import NamedTuple

import numpy as np


class GaussianMixture(NamedTuple):
    """A mixture of K spherical Gaussians in d dimensions."""

    mu: np.ndarray  # (K, d): the mean of each component, one per row
    var: np.ndarray  # (K,): the variance σ_j² of each component (covariance σ_j² I)
    p: np.ndarray  # (K,): the mixing weight of each component; sums to 1


def init(X: np.ndarray, K: int, seed: int = 0) -> tuple[GaussianMixture, np.ndarray]:
    """A starting mixture: K data points chosen at random as means, the data's spread
    around each as its variance, equal weights; and uniform soft counts."""
    rng = np.random.default_rng(seed)
    n, _ = X.shape
    mu = X[rng.choice(n, K, replace=False)]
    var = np.array([np.mean((X - m) ** 2) for m in mu])
    p = np.full(K, 1.0 / K)
    return GaussianMixture(mu, var, p), np.full((n, K), 1.0 / K)
