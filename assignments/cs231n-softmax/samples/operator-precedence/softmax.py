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
    for i in xrange(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)                 # numeric stability
        exp_scores = np.exp(scores)
        sum_exp = np.sum(exp_scores)
        loss += -scores[y[i]] + np.log(sum_exp)
        for j in xrange(num_classes):
            p_j = exp_scores[j] / sum_exp
            if j == y[i]:
                dW[:, j] += (p_j - 1) * X[i]
            else:
                dW[:, j] += p_j * X[i]

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
    dW = X.T.dot(dscores)
    dW /= num_train + 2 * reg * W
    # *****END OF YOUR CODE*****

    return loss, dW
