"""Reference solution of the ``softmax`` assignment (SPEC §1).

Conventions, as in the student's ``softmax.py``:

* ``X`` (N, D) inputs, one sample x_n per row;
* ``y`` (N,) integer labels in [0, K);
* ``W`` (K, D) weights whose row k is w_k, so the scores are S = X Wᵀ (N, K);
* ``reg`` >= 0, the weight of the penalty (reg/2)‖W‖²_F;
* ``T`` (M, D) one configuration τ_m per row, ``theta`` (D,), ``tau`` (D,).

Every function works in float64, never modifies its arguments, and is
numerically stable: exponentials are only taken of ``z − max(z)`` (<= 0), so
nothing overflows for logits of size 1e4 or logits shifted by +1000, and
log-probabilities are formed as ``z − logsumexp(z)`` rather than ``log(exp(z)/Σ)``,
so they do not underflow to −inf.
"""

from __future__ import annotations

import numpy as np


def _as_float(a: object) -> np.ndarray:
    """Return ``a`` as a float64 array (no copy when it already is one)."""
    return np.asarray(a, dtype=np.float64)


def _row_max(Z: np.ndarray) -> np.ndarray:
    """Max over the last axis, kept as a broadcastable column.

    Rows whose max is not finite (all −inf, or containing +inf / NaN) are
    shifted by 0 instead, so that ``Z − max`` does not manufacture NaNs from
    ``−inf − (−inf)``; such rows keep whatever the plain formula gives.
    """
    m = np.max(Z, axis=-1, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log softmax: log s_k(z) = z_k − log Σ_m exp(z_m).

    Computed as (z_k − c) − log Σ_m exp(z_m − c) with c = max_m z_m, so every
    exponent is <= 0 and the sum lies in [1, M]: no overflow, no log(0).
    """
    shifted = Z - _row_max(Z)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def logsumexp(z: np.ndarray) -> float:
    """log Σ_m exp(z_m) for a vector z of shape (M,).

    Uses the identity log Σ_m exp(z_m) = c + log Σ_m exp(z_m − c) with
    c = max_m z_m: the exponents are <= 0 and the largest is exactly 0, so the
    sum is in [1, M] and the result is finite for |z| up to 1e4 and beyond.

    Args:
        z: (M,) array of reals.

    Returns:
        The value as a Python float.
    """
    z = _as_float(z).ravel()
    c = float(np.max(z))
    if not np.isfinite(c):
        # all −inf gives −inf; a +inf or NaN entry propagates as is
        return c
    return c + float(np.log(np.sum(np.exp(z - c))))


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax: softmax(Z)[n, k] = exp(Z_nk) / Σ_j exp(Z_nj).

    The softmax is invariant to adding a constant to a row, so each row is
    shifted by its maximum first (exponents <= 0): finite for huge logits.

    Args:
        Z: (N, K) scores (a 1-D (K,) vector is treated as a single row).

    Returns:
        (N, K) float64 array; every row is positive and sums to 1.
    """
    Z = _as_float(Z)
    E = np.exp(Z - _row_max(Z))
    return E / np.sum(E, axis=-1, keepdims=True)


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """Jacobian of s = softmax(z) for one vector z of shape (K,).

    ∂s_k/∂z_l = s_k (δ_kl − s_l), i.e. J = diag(s) − s sᵀ (symmetric, rows and
    columns sum to 0).

    Args:
        z: (K,) scores.

    Returns:
        (K, K) float64 array J with J[k, l] = ∂s_k/∂z_l.
    """
    s = softmax(_as_float(z).ravel())
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Gradient of the log-partition function A(θ) = log Σ_m exp(θᵀτ_m).

    ∇_θ A(θ) = Σ_m p_m τ_m = Tᵀ softmax(Tθ), with p = softmax(Tθ): the
    expectation of τ under the model.

    Args:
        theta: (D,) parameters θ.
        T: (M, D) configurations, one τ_m per row.

    Returns:
        (D,) float64 array.
    """
    theta = _as_float(theta).ravel()
    T = _as_float(T)
    p = softmax(T @ theta)
    return T.T @ p


def log_likelihood_grad(theta: np.ndarray, tau: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Gradient of the log-likelihood ℓ(θ) = θᵀτ − log Σ_m exp(θᵀτ_m).

    ∇_θ ℓ(θ) = τ − Tᵀ softmax(Tθ): the observed τ minus its expectation under
    the model (data term minus log-partition term).

    Args:
        theta: (D,) parameters θ.
        tau: (D,) observed configuration τ.
        T: (M, D) all configurations, one τ_m per row.

    Returns:
        (D,) float64 array.
    """
    tau = _as_float(tau).ravel()
    return tau - log_partition_grad(theta, T)


def softmax_loss(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Regularised softmax cross-entropy loss and its gradient.

    With scores S = X Wᵀ (N, K), probabilities P = softmax(S) row-wise and Y the
    (N, K) one-hot encoding of y:

        J(W) = −(1/N) Σ_n log P[n, y_n] + (reg/2) ‖W‖²_F
        ∇_W J = (1/N) (P − Y)ᵀ X + reg · W            (shape (K, D))

    log P is computed as S − logsumexp(S) row-wise, so the loss is finite for
    huge scores.

    Args:
        W: (K, D) weights, row k is w_k.
        X: (N, D) inputs.
        y: (N,) integer labels in [0, K).
        reg: regularisation strength, >= 0.

    Returns:
        ``(loss, dW)``: the loss as a Python float and dW as a (K, D) float64 array.
    """
    W = _as_float(W)
    X = _as_float(X)
    y = np.asarray(y).astype(np.intp).ravel()
    reg = float(reg)
    N = X.shape[0]
    rows = np.arange(N)

    log_P = _log_softmax(X @ W.T)
    loss = -float(np.mean(log_P[rows, y])) + 0.5 * reg * float(np.sum(W * W))

    G = np.exp(log_P)  # P, a fresh array
    G[rows, y] -= 1.0  # P − Y
    dW = (G.T @ X) / N + reg * W
    return loss, dW
