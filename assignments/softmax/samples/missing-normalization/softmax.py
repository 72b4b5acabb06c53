"""TA note: missing-normalization — everything is correct except the gradient of
softmax_loss: the loss is correctly averaged over the N samples, but dW sums
the per-sample gradients without the 1/N, i.e. dW = (P − Y)ᵀX + reg·W
(the data part is N times too large). Expected mistake: missing-normalization,
in softmax_loss only."""

import numpy as np


def logsumexp(z):
    a = np.max(z)
    return float(a + np.log(np.sum(np.exp(z - a))))


def softmax(Z):
    Z = np.array(Z, dtype=float)
    Z -= Z.max(axis=1)[:, np.newaxis]
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1)[:, np.newaxis]
    return Z


def softmax_jacobian(z):
    s = softmax(np.atleast_2d(z))[0]
    return np.diag(s) - np.outer(s, s)


def log_partition_grad(theta, T):
    p = softmax(np.atleast_2d(T.dot(theta)))[0]
    return T.T.dot(p)


def log_likelihood_grad(theta, tau, T):
    return tau - log_partition_grad(theta, T)


def softmax_loss(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W.T)
    scores -= np.max(scores, axis=1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(scores), axis=1))
    correct = scores[np.arange(num_train), y]
    loss = np.sum(log_norm - correct) / num_train
    loss += 0.5 * reg * np.sum(W * W)

    probs = np.exp(scores - log_norm[:, np.newaxis])
    probs[np.arange(num_train), y] -= 1
    dW = probs.T.dot(X)
    dW += reg * W
    return loss, dW
