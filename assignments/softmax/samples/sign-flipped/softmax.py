"""TA note: sign-flipped — everything is correct except the gradient returned by
softmax_loss: the student differentiated the regularised log-likelihood
(1/N) Σ log P[n, y_n] − (reg/2)‖W‖² (the thing to maximise) instead of the loss
J, so dW = (1/N)(Y − P)ᵀX − reg·W = −∇J, the ascent direction. The loss value
itself is right. Expected mistake: sign-flipped, in softmax_loss only."""

import numpy as np


def logsumexp(z):
    z = np.asarray(z, dtype=np.float64)
    zmax = np.max(z)
    return float(zmax + np.log(np.sum(np.exp(z - zmax))))


def softmax(Z):
    Z = Z - np.max(Z, axis=1, keepdims=True)
    expZ = np.exp(Z)
    return expZ / np.sum(expZ, axis=1, keepdims=True)


def softmax_jacobian(z):
    s = softmax(z.reshape(1, -1)).flatten()
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    probs = softmax((T @ theta).reshape(1, -1)).flatten()
    return T.T @ probs


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    K = W.shape[0]
    scores = X @ W.T
    probs = softmax(scores)
    Y = np.eye(K)[y]

    # log P[n, y_n] = s_{y_n} - logsumexp(s_n), stable
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_lik = np.sum(Y * log_probs) / N
    loss = -log_lik + 0.5 * reg * np.sum(W * W)

    # d/dW of the log-likelihood: sum_n (y_n - p_n) x_n^T, minus the penalty
    dW = (Y - probs).T @ X / N - reg * W
    return loss, dW
