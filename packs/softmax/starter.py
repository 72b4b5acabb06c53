"""Homework: softmax regression and log-partition gradients.

Fill in the six functions below and hand in this file as ``softmax.py``.
gradgrader compares each function with the course's reference solution on
inputs you have not seen, checks your gradients against finite differences of
your own loss, and tells you which step of a derivation went wrong.

Conventions (keep them exactly; the grader calls the functions by these names
and argument orders):

* ``X`` (N, D) float inputs, one sample x_n per row.
* ``y`` (N,) integer labels in [0, K).
* ``W`` (K, D) weights whose row k is w_k, so the scores are ``X @ W.T`` (N, K).
* ``reg`` a float >= 0, the weight of the penalty (reg/2)‖W‖²_F.
* ``T`` (M, D) holds one configuration τ_m per row; ``theta`` and ``tau`` are (D,).

Your functions receive float64 numpy arrays and must return numbers or numpy
arrays of exactly the shapes stated below (lists are accepted and converted).

Hints:

* Use numpy and vectorise; ``import numpy as np`` is all you need.
* Be numerically stable: exp(1000) overflows. softmax and log-sum-exp do not
  change (or change by exactly c) when you add a constant c to every logit,
  so subtract the maximum first. The grader tries huge logits.
* Do not modify the arrays you are given; work on new arrays.
* Check your gradient against a finite-difference estimate of your own loss
  before you submit.
"""

import numpy as np


def logsumexp(z: np.ndarray) -> float:
    """Return log Σ_m exp(z_m) as a float.

    Args:
        z: (M,) array.

    Returns:
        A float. Must be finite for |z| up to 1e4.
    """
    raise NotImplementedError


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax: softmax(Z)[n, k] = exp(Z_nk) / Σ_j exp(Z_nj).

    Args:
        Z: (N, K) array of scores.

    Returns:
        (N, K) array whose rows are positive and sum to 1. Must be finite for
        huge logits (e.g. every entry shifted by +1000).
    """
    raise NotImplementedError


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """Jacobian of s = softmax(z) for one score vector z.

    ∂s_k/∂z_l = s_k (δ_kl − s_l), i.e. J = diag(s) − s sᵀ.

    Args:
        z: (K,) array of scores.

    Returns:
        (K, K) array J with J[k, l] = ∂s_k/∂z_l.
    """
    raise NotImplementedError


def log_partition_grad(theta: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Gradient of the log-partition function A(θ) = log Σ_m exp(θᵀτ_m).

    ∇_θ A(θ) = Tᵀ softmax(Tθ)   (the expectation Σ_m p_m τ_m with p = softmax(Tθ)).

    Args:
        theta: (D,) parameters θ.
        T: (M, D) configurations, one τ_m per row.

    Returns:
        (D,) array.
    """
    raise NotImplementedError


def log_likelihood_grad(theta: np.ndarray, tau: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Gradient of the log-likelihood ℓ(θ) = θᵀτ − log Σ_m exp(θᵀτ_m).

    ∇_θ ℓ(θ) = τ − Tᵀ softmax(Tθ).

    Args:
        theta: (D,) parameters θ.
        tau: (D,) observed configuration τ.
        T: (M, D) all configurations, one τ_m per row.

    Returns:
        (D,) array.
    """
    raise NotImplementedError


def softmax_loss(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Regularised softmax cross-entropy loss and its gradient.

    With scores S = X Wᵀ (N, K), P = softmax(S) row-wise and Y the (N, K)
    one-hot encoding of y:

        J(W)  = −(1/N) Σ_n log P[n, y_n] + (reg/2) ‖W‖²_F
        ∇_W J = (1/N) (P − Y)ᵀ X + reg · W

    Args:
        W: (K, D) weights, row k is w_k.
        X: (N, D) inputs.
        y: (N,) integer labels in [0, K).
        reg: float >= 0.

    Returns:
        A tuple ``(loss, dW)``: loss a float, dW a (K, D) array.
    """
    raise NotImplementedError
