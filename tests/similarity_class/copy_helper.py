"""Softmax homework.  I checked dJ/dW numerically before handing in."""
import numpy as np


def one_hot(labels, classes):
    Y = np.zeros((labels.shape[0], classes))
    Y[np.arange(labels.shape[0]), labels] = 1
    return Y


def numerical_gradient(f, W, h=1e-5):
    """Central differences of f at W, one entry at a time (used only while debugging)."""
    grad = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        old = W[idx]
        W[idx] = old + h
        up = f(W)
        W[idx] = old - h
        down = f(W)
        W[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


def softmax(Z):
    Z = np.atleast_2d(Z)
    m = np.amax(Z, axis=1)
    E = np.exp(Z - m[:, np.newaxis])
    denom = np.sum(E, axis=1)
    return E / denom[:, np.newaxis]


def logsumexp(z):
    m = np.amax(z)
    if not np.isfinite(m):
        return float(m)
    return float(m + np.log(np.sum(np.exp(z - m))))


def softmax_jacobian(z):
    p = softmax(z).ravel()
    J = -np.outer(p, p)
    J[np.diag_indices_from(J)] += p
    return J


def log_likelihood_grad(theta, tau, T):
    weights = softmax(np.dot(T, theta)).ravel()
    return tau - np.dot(weights, T)


def log_partition_grad(theta, T):
    weights = softmax(np.dot(T, theta)).ravel()
    return np.dot(weights, T)


def softmax_loss(W, X, y, reg):
    n_samples = len(X)
    Y = one_hot(y, W.shape[0])
    S = np.dot(X, W.T)
    S = S - np.amax(S, axis=1)[:, np.newaxis]
    log_norm = np.log(np.sum(np.exp(S), axis=1))
    loss = np.sum(log_norm - np.sum(S * Y, axis=1)) / n_samples
    loss += reg / 2.0 * np.linalg.norm(W) ** 2
    P = np.exp(S - log_norm[:, np.newaxis])
    grad = np.dot((P - Y).T, X) / n_samples
    grad += reg * W
    return float(loss), grad
