import numpy as np


def loss_and_grad(w, X, y):
    """J(w) = mean(log(1 + exp(xᵀw)) − y xᵀw);  ∇J = Xᵀ(σ(Xw) − y)/N."""
    z = X @ w
    sigma = np.exp(-np.logaddexp(0.0, -z))
    return float(np.mean(np.logaddexp(0.0, z) - y * z)), X.T @ (sigma - y) / X.shape[0]
