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
    num_train = X.shape[0]
    num_classes = W.shape[1]
    num_dims = W.shape[0]
    for i in xrange(num_train):
        scores = np.zeros(num_classes)
        for j in xrange(num_classes):
            for d in xrange(num_dims):
                scores[j] += X[i, d] * W[d, j]
        scores -= np.max(scores)                 # numeric stability
        sum_exp = 0.0
        for j in xrange(num_classes):
            sum_exp += np.exp(scores[j])
        loss += -scores[y[i]] + np.log(sum_exp)
        for j in xrange(num_classes):
            p_j = np.exp(scores[j]) / sum_exp
            for d in xrange(num_dims):
                if j == y[i]:
                    dW[d, j] += (p_j - 1) * X[i, d]
                else:
                    dW[d, j] += p_j * X[i, d]

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
