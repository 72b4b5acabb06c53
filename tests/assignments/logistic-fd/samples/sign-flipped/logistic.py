import numpy as np


def loss_and_grad(w, X, y):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return float(np.mean(np.logaddexp(0.0, z) - y * z)), X.T @ (y - p) / X.shape[0]
