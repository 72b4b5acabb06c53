"""Homework: gradients and EM for a Gaussian mixture model.

Fill in the seven functions below and hand in this file as ``gmm.py``.
gradgrader compares each function with the course's reference solution on
inputs you have not seen, checks your gradients against finite differences,
and tells you which step of a derivation went wrong.

Conventions (keep them exactly; the grader calls the functions by these names
and argument orders):

* ``X`` (N, D) data, one sample x_n per row.
* ``pi`` (K,) mixing weights π_k (positive, summing to 1).
* ``mu`` (K, D) means; row k is μ_k.
* ``Sigma`` (K, D, D) covariances; ``Sigma[k]`` is Σ_k, symmetric positive definite.
* ``q`` (N, K) responsibilities; q_nk >= 0 and every row sums to 1.
* Λ_k = Σ_k⁻¹ is the precision of component k, and N_k = Σ_n q_nk.
* N(x; μ, Σ) = (2π)^(−D/2) (det Σ)^(−1/2) exp(−½ (x − μ)ᵀ Σ⁻¹ (x − μ)).

The expected complete-data log-likelihood that EM maximises in its M step is

    Q = Σ_n Σ_k q_nk [log π_k + ½ log det Λ_k − ½ (x_n − μ_k)ᵀ Λ_k (x_n − μ_k) − (D/2) log 2π].

``grad_mu`` and ``grad_precision`` are partial derivatives of this Q, with q
held fixed; setting them to zero (and adding the constraint Σ_k π_k = 1) gives
the updates of ``m_step``.

Matrix gradients use the layout of the matrix itself: ∇_A f is the (D, D) array
whose entry (i, j) is ∂f/∂A_ij, every one of the D² entries of A being treated
as an independent variable, even when A happens to be symmetric.

Your functions receive float64 numpy arrays and must return numbers or numpy
arrays of exactly the shapes stated below (lists are accepted and converted).

Hints:

* Use numpy; ``import numpy as np`` is all you need. Vectorise if you can.
* Be numerically stable: a point 50 standard deviations from every mean has
  density exp(−1250), which is exactly 0.0 in float64. Work with log
  densities (``np.linalg.slogdet`` or a Cholesky factor help) and combine
  components with the log-sum-exp trick. The grader tries such points.
* Prefer ``np.linalg.solve(S, v)`` to ``np.linalg.inv(S) @ v``.
* Do not modify the arrays you are given; work on new arrays.
* Check every gradient against a finite-difference estimate before you submit.
"""

from __future__ import annotations

import numpy as np


def grad_logdet(A: np.ndarray) -> np.ndarray:
    """Gradient of log det A with respect to the matrix A.

    ∇_A log det A = A⁻ᵀ, for any invertible A (not only symmetric ones).

    Args:
        A: (D, D) invertible matrix, not necessarily symmetric.

    Returns:
        (D, D) array whose entry (i, j) is ∂ log det A / ∂A_ij.
    """
    raise NotImplementedError


def grad_quadform(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of the quadratic form xᵀAx with respect to the matrix A.

    ∇_A xᵀAx = x xᵀ.

    Args:
        A: (D, D) matrix.
        x: (D,) vector.

    Returns:
        (D, D) array whose entry (i, j) is ∂(xᵀAx)/∂A_ij.
    """
    raise NotImplementedError


def log_likelihood(X: np.ndarray, pi: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> float:
    """Log-likelihood of the data under the mixture.

    ℓ = Σ_n log Σ_k π_k N(x_n; μ_k, Σ_k).

    Args:
        X: (N, D) data.
        pi: (K,) mixing weights.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        ℓ as a float. Must be finite for points far (~50σ) from every mean.
    """
    raise NotImplementedError


def e_step(X: np.ndarray, pi: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Responsibilities of the components for every point (the E step).

    q_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j).

    Args:
        X: (N, D) data.
        pi: (K,) mixing weights.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        (N, K) array q; every row sums to 1. Must be finite for points far
        (~50σ) from every mean.
    """
    raise NotImplementedError


def grad_mu(X: np.ndarray, q: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Gradient of Q with respect to each mean μ_k.

    ∂Q/∂μ_k = Σ_n q_nk Λ_k (x_n − μ_k),   Λ_k = Σ_k⁻¹.

    Args:
        X: (N, D) data.
        q: (N, K) responsibilities.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        (K, D) array whose row k is ∂Q/∂μ_k.
    """
    raise NotImplementedError


def grad_precision(X: np.ndarray, q: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Gradient of Q with respect to each precision matrix Λ_k = Σ_k⁻¹.

    ∂Q/∂Λ_k = ½ Σ_n q_nk (Σ_k − (x_n − μ_k)(x_n − μ_k)ᵀ),

    the gradient over all D² entries of Λ_k taken as independent variables.

    Args:
        X: (N, D) data.
        q: (N, K) responsibilities.
        mu: (K, D) means.
        Sigma: (K, D, D) covariances.

    Returns:
        (K, D, D) array whose slice k is ∂Q/∂Λ_k.
    """
    raise NotImplementedError


def m_step(X: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parameters that maximise Q for fixed responsibilities q (the M step).

    With N_k = Σ_n q_nk:

        π_k = N_k / N,
        μ_k = Σ_n q_nk x_n / N_k,
        Σ_k = Σ_n q_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k.

    Args:
        X: (N, D) data.
        q: (N, K) responsibilities.

    Returns:
        A tuple ``(pi, mu, Sigma)`` of arrays of shapes (K,), (K, D), (K, D, D).
    """
    raise NotImplementedError
