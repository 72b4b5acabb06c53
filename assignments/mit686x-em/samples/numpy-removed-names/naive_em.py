"""Mixture model using EM"""
from typing import Tuple
import numpy as np
from common import GaussianMixture


def estep(X: np.ndarray, mixture: GaussianMixture) -> Tuple[np.ndarray, float]:
    """E-step: softly assigns each point to the Gaussian components"""
    n, d = X.shape
    K = mixture.mu.shape[0]
    post = np.zeros((n, K), dtype=np.float)
    for i in range(n):
        for j in range(K):
            norm = (2 * np.pi * mixture.var[j]) ** (d / 2)
            dist = np.linalg.norm(X[i] - mixture.mu[j]) ** 2
            post[i, j] = mixture.p[j] * np.exp(-dist / (2 * mixture.var[j])) / norm
    total = post.sum(axis=1)
    ll = np.sum(np.log(total))
    post = post / total[:, None]
    return post, ll


def mstep(X: np.ndarray, post: np.ndarray) -> GaussianMixture:
    """M-step: re-estimates the gaussian mixture from the soft counts"""
    n, d = X.shape
    n_hat = post.sum(axis=0)
    p = n_hat / n
    mu = (post.T @ X) / n_hat[:, np.newaxis]
    sq_dist = np.sum((X[:, np.newaxis, :] - mu[np.newaxis, :, :]) ** 2, axis=2)
    var = np.sum(post * sq_dist, axis=0) / (d * n_hat)
    return GaussianMixture(mu, var, p)


def run(X: np.ndarray, mixture: GaussianMixture,
        post: np.ndarray) -> Tuple[GaussianMixture, np.ndarray, float]:
    """Runs the mixture model"""
    prev_ll = None
    ll = None
    while prev_ll is None or ll - prev_ll > 1e-6 * np.abs(ll):
        prev_ll = ll
        post, ll = estep(X, mixture)
        mixture = mstep(X, post)
    return mixture, post, ll
