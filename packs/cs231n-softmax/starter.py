from builtins import range
import numpy as np
from random import shuffle
from past.builtins import xrange


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax (cross-entropy) loss and its gradient, computed with explicit loops.

    D is the dimension of the inputs, C the number of classes, and the functions
    work on minibatches of N examples.

    Inputs:
    - W: numpy array of shape (D, C), the weights (one column per class).
    - X: numpy array of shape (N, D), one example per row.
    - y: numpy array of shape (N,) of labels; y[i] = c means that X[i] has label c,
      where 0 <= c < C.
    - reg: (float) regularization strength.

    Returns a tuple of:
    - loss as a single float
    - gradient with respect to the weights W; an array of the same shape as W
    """
    # Start with a zero loss and a zero gradient.
    loss = 0.0
    dW = np.zeros_like(W)

    #############################################################################
    # TODO: compute the softmax loss and its gradient using explicit loops.     #
    # Keep the loss and the gradient in dW. Mind numeric stability: exp() of a  #
    # large score overflows. Don't forget the regularization!                   #
    #############################################################################
    # *****START OF YOUR CODE*****

    pass

    # *****END OF YOUR CODE*****

    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version.

    Inputs and outputs are the same as softmax_loss_naive.
    """
    # Start with a zero loss and a zero gradient.
    loss = 0.0
    dW = np.zeros_like(W)

    #############################################################################
    # TODO: compute the softmax loss and its gradient without explicit loops.   #
    # Keep the loss and the gradient in dW. Mind numeric stability: exp() of a  #
    # large score overflows. Don't forget the regularization!                   #
    #############################################################################
    # *****START OF YOUR CODE*****

    pass

    # *****END OF YOUR CODE*****

    return loss, dW
