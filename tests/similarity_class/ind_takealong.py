import numpy as np
from numpy import exp, log


def logsumexp(z):
    c = np.max(z)
    return c + log(exp(z - c).sum()).item()


def softmax(Z):
    c = Z.max(-1)[..., None]
    u = exp(Z - c)
    return u / u.sum(-1)[..., None]


def softmax_jacobian(z):
    s = softmax(z)
    col = s.reshape(-1, 1)
    return np.diagflat(s) - col @ col.T


def log_partition_grad(theta, T):
    a = T.dot(theta)
    return softmax(a).dot(T)


def log_likelihood_grad(theta, tau, T):
    g = log_partition_grad(theta, T)
    return tau - g


def softmax_loss(W, X, y, reg):
    n = y.size
    logits = X.dot(W.T)
    logits -= logits.max(-1)[..., None]
    lse = log(exp(logits).sum(-1))
    picked = np.take_along_axis(logits, y[:, None], axis=1)[:, 0]
    loss = (lse - picked).mean() + reg * (W ** 2).sum() / 2
    probs = exp(logits - lse[..., None])
    np.add.at(probs, (np.arange(n), y), -1)
    dW = probs.T.dot(X) / n + reg * W
    return loss, dW
