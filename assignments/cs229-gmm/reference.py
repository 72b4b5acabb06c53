"""Reference of ``cs229-gmm`` (Stanford CS229, problem set 3: p03_gmm.py / gmm.py).

x (n, d) data; K Gaussians with full covariances: phi (K,), mu (K, d), sigma (K, d, d);
w (n, K) the responsibilities w[i, j] = p(z_i = j | x_i).

    E step:  w[i, j] ∝ phi_j N(x_i; mu_j, sigma_j),  rows normalised to 1
    M step:  phi_j = Σ_i w[i, j] / n,  mu_j = Σ_i w[i, j] x_i / Σ_i w[i, j],
             sigma_j = Σ_i w[i, j] (x_i − mu_j)(x_i − mu_j)ᵀ / Σ_i w[i, j]
    ll = Σ_i log Σ_j phi_j N(x_i; mu_j, sigma_j)

run_em repeats (1) E step, (2) M step, (3) the log-likelihood of the new parameters,
in the order of the course's starter, until |ll − prev_ll| < 1e-3 (at most 1000
times), and returns the last w. Densities are evaluated in the log domain.
"""

import numpy as np

EPS = 1e-3
MAX_ITER = 1000


def log_joint(x, phi, mu, sigma):
    """log phi_j + log N(x_i; mu_j, sigma_j), shape (n, K)."""
    n, d = x.shape
    out = np.empty((n, len(phi)))
    for j in range(len(phi)):
        diff = x - mu[j]
        _, logdet = np.linalg.slogdet(sigma[j])
        quad = np.sum(diff * np.linalg.solve(sigma[j], diff.T).T, axis=1)
        out[:, j] = np.log(phi[j]) - 0.5 * (d * np.log(2 * np.pi) + logdet + quad)
    return out


def e_step(x, phi, mu, sigma):
    """The responsibilities w (n, K) and the log-likelihood of the parameters."""
    f = log_joint(x, phi, mu, sigma)
    m = f.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(f - m).sum(axis=1, keepdims=True))
    return np.exp(f - lse), float(lse.sum())


def m_step(x, w):
    """phi, mu, sigma maximising the expected complete-data log-likelihood for w."""
    nk = w.sum(axis=0)
    mu = w.T @ x / nk[:, None]
    sigma = np.stack([(w[:, j, None] * (x - mu[j])).T @ (x - mu[j]) / nk[j] for j in range(w.shape[1])])
    return nk / x.shape[0], mu, sigma


def run_em(x, w, phi, mu, sigma):
    """EM from the given initialisation; returns the final responsibilities w (n, K)."""
    x = np.asarray(x, dtype=np.float64)
    it = 0
    ll = prev_ll = None
    while it < MAX_ITER and (prev_ll is None or np.abs(ll - prev_ll) >= EPS):
        w, _ = e_step(x, phi, mu, sigma)
        phi, mu, sigma = m_step(x, w)
        prev_ll = ll
        ll = e_step(x, phi, mu, sigma)[1]
        it += 1
    return w
