"""Mixture model using EM"""
from typing import Tuple
import numpy as np
from common import GaussianMixture


def estep(X: np.ndarray, mixture: GaussianMixture) -> Tuple[np.ndarray, float]:
    """E-step, one point at a time, in the log domain"""
    n, d = X.shape
    K = len(mixture.p)
    post = np.zeros((n, K))
    ll = 0.0
    for i in range(n):
        log_f = np.zeros(K)
        for j in range(K):
            diff = X[i] - mixture.mu[j]
            log_f[j] = (np.log(mixture.p[j]) - 0.5 * d * np.log(2 * np.pi * mixture.var[j])
                        - diff.dot(diff) / (2 * mixture.var[j]))
        top = log_f.max()
        log_sum = top + np.log(np.exp(log_f - top).sum())
        post[i] = np.exp(log_f - log_sum)
        ll += log_sum
    return post, ll


def mstep(X: np.ndarray, post: np.ndarray) -> GaussianMixture:
    """M-step, one component at a time"""
    n, d = X.shape
    K = post.shape[1]
    mu = np.zeros((K, d))
    var = np.zeros(K)
    p = np.zeros(K)
    for j in range(K):
        weight = post[:, j]
        total = weight.sum()
        p[j] = total / n
        mu[j] = weight @ X / total
        var[j] = weight @ np.sum((X - mu[j]) ** 2, axis=1) / (d * total)
    return GaussianMixture(mu, var, p)


def run(X: np.ndarray, mixture: GaussianMixture,
        post: np.ndarray) -> Tuple[GaussianMixture, np.ndarray, float]:
    """Runs the mixture model until the log-likelihood stops improving"""
    old_ll, ll = None, None
    while old_ll is None or ll - old_ll > 1e-6 * abs(ll):
        old_ll = ll
        post, ll = estep(X, mixture)
        mixture = mstep(X, post)
    return mixture, post, ll
