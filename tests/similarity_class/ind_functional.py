# Softmax regression, built from small pieces
import numpy as np

_row_max = lambda A: np.max(A, axis=-1, keepdims=True)


def _log_softmax(A):
    centred = A - _row_max(A)
    return centred - np.log(np.sum(np.exp(centred), axis=-1, keepdims=True))


def logsumexp(z):
    z = np.asarray(z, dtype=np.float64)
    return float(np.squeeze(_row_max(z)) + np.log(np.exp(z - _row_max(z)).sum()))


def softmax(Z):
    return np.exp(_log_softmax(np.asarray(Z, dtype=np.float64)))


def softmax_jacobian(z):
    s = np.exp(_log_softmax(np.asarray(z, dtype=np.float64)))
    return np.einsum("k,kl->kl", s, np.eye(s.size)) - np.einsum("k,l->kl", s, s)


def log_partition_grad(theta, T):
    return np.einsum("m,md->d", np.exp(_log_softmax(T @ theta)), T)


def log_likelihood_grad(theta, tau, T):
    return np.subtract(tau, log_partition_grad(theta, T))


def softmax_loss(W, X, y, reg):
    logp = _log_softmax(np.einsum("nd,kd->nk", X, W))
    onehot = np.eye(W.shape[0])[y]
    data_term = -np.einsum("nk,nk->", onehot, logp) / len(y)
    penalty = 0.5 * reg * np.einsum("kd,kd->", W, W)
    grad = np.einsum("nk,nd->kd", np.exp(logp) - onehot, X) / len(y) + reg * W
    return data_term + penalty, grad
