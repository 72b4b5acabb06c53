import numpy as np
from random import shuffle


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax (cross-entropy) loss and its gradient, computed with explicit loops.
    """
    loss = 0.0
    dW = np.zeros_like(W)

    # *****START OF YOUR CODE*****
    num_train, num_classes = X.shape[0], W.shape[1]
    for i in xrange(num_train):
        s = X[i].dot(W)
        s = s - s.max()
        denom = 0.0
        for j in xrange(num_classes):
            denom += np.exp(s[j])
        loss += np.log(denom) - s[y[i]]
        for j in xrange(num_classes):
            dW[:, j] += (np.exp(s[j]) / denom - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version.
    """
    loss = 0.0
    dW = np.zeros_like(W)

    # *****START OF YOUR CODE*****
    n = X.shape[0]
    f = X @ W
    f = f - np.max(f, axis=1)[:, None]
    log_p = f - np.log(np.sum(np.exp(f), axis=1))[:, None]
    loss = -np.mean(log_p[np.arange(n), y]) + 0.5 * reg * np.sum(W ** 2)
    g = np.exp(log_p)
    g[np.arange(n), y] -= 1.0
    dW = X.T @ g / n + reg * W
    # *****END OF YOUR CODE*****

    return loss, dW
