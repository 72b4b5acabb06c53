"""Mixture model using EM"""
from typing import Tuple
import numpy as np
from common import GaussianMixture


def estep(X: np.ndarray, mixture: GaussianMixture) -> Tuple[np.ndarray, float]:
    """E-step: softly assigns each point to the Gaussian components"""
    n, d = X.shape
    mu, var, p = mixture
    # log of p_j N(x_i; mu_j, var_j I) for every point and component, shape (n, K)
    sq_dist = np.sum((X[:, np.newaxis, :] - mu[np.newaxis, :, :]) ** 2, axis=2)
    det = var ** d  # det(var * I)
    log_f = np.log(p) - np.log((2 * np.pi) ** (d / 2) * det) - sq_dist / (2 * var)
    # log-sum-exp over the components
    m = np.max(log_f, axis=1, keepdims=True)
    log_total = m + np.log(np.sum(np.exp(log_f - m), axis=1, keepdims=True))
    post = np.exp(log_f - log_total)
    return post, float(np.sum(log_total))


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
