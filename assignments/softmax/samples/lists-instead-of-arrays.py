"""TA note: lists-instead-of-arrays — a correct, stable solution written in
plain Python with the math module. It returns Python floats, lists and nested
lists instead of numpy arrays (the loss as a float, dW as a list of K rows of
length D). SPEC §1 accepts lists and converts them. Expected: full marks, no
mistakes."""

import math


def _dot(a, b):
    return sum(float(u) * float(v) for u, v in zip(a, b))


def logsumexp(z):
    z = [float(v) for v in z]
    m = max(z)
    return m + math.log(sum(math.exp(v - m) for v in z))


def _softmax_row(z):
    lse = logsumexp(z)
    return [math.exp(float(v) - lse) for v in z]


def softmax(Z):
    return [_softmax_row(row) for row in Z]


def softmax_jacobian(z):
    s = _softmax_row(z)
    K = len(s)
    return [[s[k] * ((1.0 if k == l else 0.0) - s[l]) for l in range(K)] for k in range(K)]


def log_partition_grad(theta, T):
    p = _softmax_row([_dot(row, theta) for row in T])
    D = len(theta)
    grad = [0.0] * D
    for p_m, row in zip(p, T):
        for d in range(D):
            grad[d] += p_m * float(row[d])
    return grad


def log_likelihood_grad(theta, tau, T):
    expectation = log_partition_grad(theta, T)
    return [float(t) - e for t, e in zip(tau, expectation)]


def softmax_loss(W, X, y, reg):
    N = len(X)
    K = len(W)
    D = len(W[0])
    loss = 0.0
    dW = [[0.0] * D for _ in range(K)]
    for x, label in zip(X, y):
        scores = [_dot(w, x) for w in W]
        lse = logsumexp(scores)
        loss += lse - scores[int(label)]
        for k in range(K):
            coef = math.exp(scores[k] - lse) - (1.0 if k == int(label) else 0.0)
            for d in range(D):
                dW[k][d] += coef * float(x[d])
    loss /= N
    sq = 0.0
    for k in range(K):
        for d in range(D):
            w = float(W[k][d])
            sq += w * w
            dW[k][d] = dW[k][d] / N + reg * w
    loss += 0.5 * reg * sq
    return float(loss), dW
