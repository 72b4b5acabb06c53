"""TA note: not-implemented — the starter file with only logsumexp and softmax
filled in (correct and stable); softmax_jacobian, log_partition_grad,
log_likelihood_grad and softmax_loss still raise NotImplementedError.
Expected: graded, partial credit for the two done functions, the four others
fail with not-implemented.

(Homework: softmax regression and log-partition gradients.)
"""

import numpy as np


def logsumexp(z: np.ndarray) -> float:
    """Return log Σ_m exp(z_m) as a float.

    Args:
        z: (M,) array.

    Returns:
        A float. Must be finite for |z| up to 1e4.
    """
    z = np.asarray(z, dtype=float)
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax: softmax(Z)[n, k] = exp(Z_nk) / Σ_j exp(Z_nj).

    Args:
        Z: (N, K) array of scores.

    Returns:
        (N, K) array whose rows are positive and sum to 1. Must be finite for
        huge logits (e.g. every entry shifted by +1000).
    """
    Z = np.asarray(Z, dtype=float)
    Z = Z - np.max(Z, axis=1, keepdims=True)
    expZ = np.exp(Z)
    return expZ / np.sum(expZ, axis=1, keepdims=True)


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
