import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_loss(w, X, y):
    """J(w) = −(1/N) Σ [y log σ(xᵀw) + (1 − y) log(1 − σ(xᵀw))];  ∇J = Xᵀ(σ − y)/N."""
    z = X @ w
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    return loss, X.T @ (sigmoid(z) - y) / X.shape[0]
