import math
import numpy as np


def softmax_loss(W, X, y, reg):
    N = X.shape[0]
    K = W.shape[0]
    print("N =", N, "K =", K)
    loss = 0.0
    dW = np.zeros_like(W)
    for n in range(N):
        scores = W.dot(X[n])
        probs = softmax(scores.reshape(1, K))[0]
        loss -= math.log(probs[y[n]])
        for k in range(K):
            indicator = 1.0 if k == y[n] else 0.0
            dW[k] += (probs[k] - indicator) * X[n]
    loss = loss/N + reg/2*float((W**2).sum())
    print("loss", loss)
    dW = dW/N + reg*W
    return loss, dW


def log_likelihood_grad(theta, tau, T):
    expectation = log_partition_grad(theta, T)
    result = np.zeros(len(tau))
    for d in range(len(tau)):
        result[d] = tau[d] - expectation[d]
    return result


def logsumexp(z):
    values = list(np.ravel(z))
    biggest = max(values)
    total = 0.0
    for v in values:
        total += math.exp(v - biggest)
    print(f"logsumexp: {biggest} {total}")
    return biggest + math.log(total)


def log_partition_grad(theta, T):
    M, D = T.shape
    logits = [float(np.dot(T[m], theta)) for m in range(M)]
    lse = logsumexp(np.array(logits))
    grad = np.zeros(D)
    for m in range(M):
        grad += math.exp(logits[m] - lse) * T[m]
    return grad


def softmax_jacobian(z):
    K = len(z)
    s = softmax(np.reshape(z, (1, K)))[0]
    J = np.zeros((K, K))
    for k in range(K):
        for l in range(K):
            if k == l:
                J[k, l] = s[k]*(1 - s[l])
            else:
                J[k, l] = -s[k]*s[l]
    return J


def softmax(Z):
    Z = np.array(Z, dtype=np.float64)
    out = np.zeros_like(Z)
    for n in range(Z.shape[0]):
        row = Z[n]
        lse = logsumexp(row)
        for k in range(Z.shape[1]):
            out[n, k] = math.exp(row[k] - lse)
    return out
