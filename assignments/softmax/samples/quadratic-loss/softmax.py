"""TA note: quadratic-loss — no softmax anywhere: softmax_loss returns the centred
quadratic 0.5‖W‖² with its exact gradient W, and the other functions are not written.
The loss and the gradient belong together (finite differences agree), but neither
depends on X or y, so it is no cross-entropy loss at all. Expected: 0 points; the
loss is named ignores-input."""

import numpy as np


def logsumexp(z):
    raise NotImplementedError


def softmax(Z):
    raise NotImplementedError


def softmax_jacobian(z):
    raise NotImplementedError


def log_partition_grad(theta, T):
    raise NotImplementedError


def log_likelihood_grad(theta, tau, T):
    raise NotImplementedError


def softmax_loss(W, X, y, reg):
    loss = 0.5 * np.sum(W * W)
    dW = W.copy()
    return loss, dW
