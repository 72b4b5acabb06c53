"""TA note: chatty-but-correct — a correct, stable solution that still has all
its debugging output in it: it prints on import and on every call, both to
stdout and to stderr (including whole arrays). Printing must not affect the
grade or break the grader's protocol. Expected: full marks, no mistakes."""

import sys

import numpy as np

print("=" * 60)
print("softmax.py loaded -- numpy version", np.__version__)
print("DEBUG mode ON, printing everything")
print("=" * 60)
print("[stderr] warning: debug prints are enabled", file=sys.stderr)


def logsumexp(z):
    print("logsumexp called with z =", z)
    m = np.max(z)
    print("  max =", m)
    out = m + np.log(np.sum(np.exp(z - m)))
    print("  result =", out)
    print("logsumexp: done", file=sys.stderr)
    return float(out)


def softmax(Z):
    print("softmax: Z.shape =", np.shape(Z))
    print(Z)
    e = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    P = e / np.sum(e, axis=1, keepdims=True)
    print("softmax: row sums =", P.sum(axis=1))
    print("softmax: probs =\n", P, file=sys.stderr)
    return P


def softmax_jacobian(z):
    print("softmax_jacobian: z =", z)
    s = softmax(np.reshape(z, (1, -1)))[0]
    J = np.diag(s) - np.outer(s, s)
    print("J =\n", J)
    print("J column sums (should be 0):", J.sum(axis=0), file=sys.stderr)
    return J


def log_partition_grad(theta, T):
    print("log_partition_grad: theta =", theta, "T.shape =", T.shape)
    scores = T @ theta
    print("scores =", scores)
    p = softmax(scores.reshape(1, -1))[0]
    g = T.T @ p
    print("grad =", g, file=sys.stderr)
    return g


def log_likelihood_grad(theta, tau, T):
    print("log_likelihood_grad: tau =", tau)
    g = tau - log_partition_grad(theta, T)
    print("ll grad =", g)
    print("ll grad norm =", np.linalg.norm(g), file=sys.stderr)
    return g


def softmax_loss(W, X, y, reg):
    print("softmax_loss: W", W.shape, "X", X.shape, "y", y.shape, "reg", reg)
    print("W =\n", W)
    N = X.shape[0]
    P = softmax(X @ W.T)
    print("P =\n", P)
    S = X @ W.T
    S = S - S.max(axis=1, keepdims=True)
    logP = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    data_loss = -np.mean(logP[np.arange(N), y])
    reg_loss = 0.5 * reg * np.sum(W ** 2)
    print("data loss =", data_loss, "reg loss =", reg_loss)
    Y = np.zeros_like(P)
    Y[np.arange(N), y] = 1
    dW = (P - Y).T @ X / N + reg * W
    print("dW =\n", dW)
    print("softmax_loss finished, loss =", data_loss + reg_loss, file=sys.stderr)
    sys.stdout.flush()
    return data_loss + reg_loss, dW
