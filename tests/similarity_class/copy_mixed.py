import numpy as np


def softmax_loss(Wt, data, target, lam):
    m = data.shape[0]
    idx = np.arange(m)
    raw = data @ Wt.T
    logp = raw - Helper.log_norm(raw)[:, None]
    print(logp.shape)
    total = -logp[idx, target].sum() / m
    total = total + 0.5 * lam * float(np.vdot(Wt, Wt))
    d = Helper.probs(raw)
    d[idx, target] = d[idx, target] - 1
    return total, (d.T @ data) / m + lam * Wt


class Helper:
    # stable softmax helpers

    @staticmethod
    def shift(arr):
        return arr - np.max(arr, axis=-1, keepdims=True)

    @classmethod
    def probs(cls, arr):
        ex = np.exp(cls.shift(arr))
        return ex / np.sum(ex, axis=-1, keepdims=True)

    @classmethod
    def log_norm(cls, arr):
        mx = np.max(arr, axis=-1)
        return mx + np.log(np.sum(np.exp(cls.shift(arr)), axis=-1))


def log_likelihood_grad(th, t, configs):
    return -(log_partition_grad(th, configs) - t)


def log_partition_grad(th, configs):
    e = Helper.probs(configs @ th)[:, None] * configs
    return e.sum(axis=0)


def softmax_jacobian(v):
    pr = Helper.probs(np.asarray(v, dtype=float))
    k = pr.shape[0]
    eye = np.identity(k)
    return pr[:, None] * (eye - pr[None, :])


def softmax(S):
    return Helper.probs(np.asarray(S, dtype=float))


def logsumexp(v):
    return float(Helper.log_norm(np.asarray(v, dtype=float)))
