"""Course code named from assignment.toml: the terms whose sum is the gradient."""

import numpy as np


def grad_data(w, X, y, reg):
    return X.T @ (X @ w - y) / X.shape[0]


def grad_regulariser(w, X, y, reg):
    return reg * np.asarray(w)
