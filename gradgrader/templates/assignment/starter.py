"""Least squares with ridge regularisation.

X has one sample per row (N, D), y is (N,), w is (D,), reg >= 0.
"""

import numpy as np


def loss_and_grad(w, X, y, reg):
    """Return (J, ∇J) for J(w) = ‖Xw − y‖²/(2N) + (reg/2)‖w‖²; ∇J has w's shape (D,)."""
    raise NotImplementedError
