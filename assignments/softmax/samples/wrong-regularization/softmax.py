"""TA note: wrong-regularization — everything is correct except the
regularisation part of softmax_loss's gradient: the loss correctly adds
(reg/2)‖W‖²_F, but dW adds 2·reg·W (the student differentiated ‖W‖² and
forgot the ½ in front), so dW = (1/N)(P − Y)ᵀX + 2·reg·W. Invisible when
reg = 0. Expected mistake: wrong-regularization, in softmax_loss only."""

import numpy as np


def logsumexp(z):
    z = np.asarray(z, dtype=np.float64)
    m = np.amax(z)
    return float(m + np.log(np.exp(z - m).sum()))


def softmax(Z):
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - np.amax(Z, axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    return P


def softmax_jacobian(z):
    s = softmax([z])[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax([T @ theta])[0]
    return T.T @ p


def log_likelihood_grad(theta, tau, T):
    return np.asarray(tau, dtype=np.float64) - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    rows = np.arange(N)
    S = X @ W.T
    S = S - S.max(axis=1, keepdims=True)
    log_P = S - np.log(np.exp(S).sum(axis=1, keepdims=True))

    data_loss = -np.mean(log_P[rows, y])
    reg_loss = 0.5 * reg * np.sum(W * W)
    loss = data_loss + reg_loss

    dS = np.exp(log_P)
    dS[rows, y] -= 1
    dW = dS.T @ X / N
    dW += 2 * reg * W      # d/dW ||W||^2 = 2W
    return loss, dW
