import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z)) * np.exp(z) / np.exp(z)


def logistic_loss(w, X, y):
    z = X @ w
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    s = 1.0 / (1.0 + np.exp(-z))
    return loss, X.T @ (s - y) / X.shape[0]
