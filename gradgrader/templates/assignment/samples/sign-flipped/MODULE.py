import numpy as np


def loss_and_grad(w, X, y, reg):
    N = X.shape[0]
    r = y - X @ w
    return float(r @ r) / (2 * N) + 0.5 * reg * float(w @ w), X.T @ r / N - reg * w
