"""Course code for the softmax assignment, named from assignment.toml.

Input generators (``gen = "hooks.NAME"``), gradient terms and the training check. Runs
in the grader's process only, never beside student code.
"""

from __future__ import annotations

import functools

import numpy as np

from gradgrader.checks.base import CheckContext, Failure
from gradgrader.checks.custom import Verdict


# ------------------------------------------------------------------ input generators
def with_constant_column(rng, params, env):
    """Gaussian entries with a last column of ones (a bias feature)."""
    a = rng.standard_normal(env.shape(params))
    a[..., -1] = 1.0
    return a


def with_last_column(rng, params, env):
    """Gaussian weights whose last column is ``value`` for every class: with a bias
    feature of 1 this adds ``value`` to every logit without changing the softmax."""
    a = params.get("scale", 1.0) * rng.standard_normal(env.shape(params))
    a[..., -1] = params["value"]
    return a


def with_last_entry(rng, params, env):
    """Gaussian entries (``scale``, default 1), rounded to multiples of ``step`` if given,
    and a last entry of ``value``."""
    a = params.get("scale", 1.0) * rng.standard_normal(env.shape(params))
    if "step" in params:
        a = np.round(a / params["step"]) * params["step"]
    a[-1] = params["value"]
    return a


def integer_features(rng, params, env):
    """Integers in [−``bound``, ``bound``] with a last column of ones (a bias feature).
    With θ in multiples of 1/8, θᵀτ is exact in float32 too: correct float32 code then
    computes logits in the thousands exactly, and the softmax of two close ones to its
    own precision. Drawn as Gaussians, their float32 rounding (~1e-3 at 5000) cost a
    correct float32 log-partition gradient the 1e-4 stability tolerance under one
    secret in ~2000 (scripts/secret_sweep.py softmax)."""
    bound = int(params.get("bound", 8))
    a = rng.integers(-bound, bound + 1, env.shape(params)).astype(np.float64)
    a[..., -1] = 1.0
    return a


def spread(rng, params, env):
    """Logits spread over ±``scale`` whatever the draw: every row (along the last axis,
    at least 3 entries) holds ``scale`` and ``scale − u`` — the two largest, so that
    softmax shares its mass between them and its Jacobian is not zero — and ``−scale``,
    at random places; the others are uniform in [−scale, 0.9·scale]. They overflow a
    naive exp (above ~709) and underflow it (below ~−745) in every row. ``scale`` (an
    integer) and u (a multiple of 1/8 in [1/8, 2]) are exact in float32, so correct
    float32 code computes the two probabilities that matter to its own precision: drawn
    continuously, a logit of 5000 carries a float32 rounding error of up to 2.4e-4,
    which the softmax of two logits that close turns into ~2e-4 relative error, over the
    stability checks' 1e-4. Drawn as plain Gaussians, the four logits of a vector all
    fell between those bounds for ~6 % of course secrets, and an unstable logsumexp
    passed the case there (``scripts/secret_sweep.py softmax``)."""
    shape = env.shape(params)
    scale = float(params["scale"])
    a = rng.uniform(-scale, 0.9 * scale, shape)
    rows = a.reshape(-1, shape[-1])
    for row in rows:
        top, second, low = rng.choice(shape[-1], 3, replace=False)
        row[top], row[second], row[low] = scale, scale - rng.integers(1, 17) / 8.0, -scale
    return rows.reshape(shape)


# ------------------------------------------------------------------ math
def _softmax(Z):
    Z = Z - Z.max(axis=-1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=-1, keepdims=True)


def log_partition(theta, T):
    """A(θ) = log Σ_m exp(θᵀτ_m), the objective that log_partition_grad differentiates."""
    s = T @ theta
    c = s.max()
    return float(c + np.log(np.exp(s - c).sum()))


# ------------------------------------------------------------------ gradient terms
# dW = PᵀX/N − YᵀX/N + reg·W, P = softmax(X Wᵀ), Y the one-hot labels.
def dW_expectation(W, X, y, reg):
    return _softmax(X @ W.T).T @ X / X.shape[0]


def dW_data(W, X, y, reg):
    Y = np.zeros((X.shape[0], W.shape[0]))
    Y[np.arange(X.shape[0]), y.astype(int)] = 1.0
    return -(Y.T @ X) / X.shape[0]


def dW_regulariser(W, X, y, reg):
    return reg * W


# ------------------------------------------------------------------ wrong losses
# J(W) = data + (reg/2)‖W‖², data = −(1/N) Σ_n log softmax(X Wᵀ)[n, y_n]. The loss is one
# number, so it is never decomposed into terms (two coefficients from one number fit
# anything): only these whole wrong formulas are named, when one reproduces it to 1e-4.
def _loss_data_sum(W, X, y):
    S = X @ W.T
    S = S - S.max(axis=1, keepdims=True)
    logp = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(X.shape[0]), y.astype(int)].sum())


def loss_sum_not_mean(W, X, y, reg):
    """The data term summed over samples, not averaged: missing-normalization."""
    return _loss_data_sum(W, X, y) + 0.5 * reg * float(np.sum(W * W))


def loss_full_reg(W, X, y, reg):
    """reg·‖W‖² where the contract has (reg/2)‖W‖²: wrong-regularization."""
    return _loss_data_sum(W, X, y) / X.shape[0] + reg * float(np.sum(W * W))


# ∇ log-likelihood = τ − Tᵀ softmax(Tθ)
def llg_data(theta, tau, T):
    return np.array(tau, dtype=float)


def llg_expectation(theta, tau, T):
    return -(T.T @ _softmax(T @ theta))


# log Σ exp(z) = max(z) + log Σ exp(z − max(z))
def lse_max(z):
    return np.max(z)


def lse_log_sum(z):
    return np.log(np.sum(np.exp(z - np.max(z))))


# Jacobian = diag(s) − s sᵀ
def jac_diagonal(z):
    return np.diag(_softmax(z))


def jac_outer(z):
    s = _softmax(z)
    return -np.outer(s, s)


# ------------------------------------------------------------------ training check
@functools.lru_cache(maxsize=1)
def digits(n_per_class: int = 24, flip: float = 0.08, seed: int = 7):
    """A deterministic data set of 8×8 binary-pixel "digits": ten random prototypes,
    each sample a prototype with ``flip`` of its pixels flipped, plus a bias column."""
    rng = np.random.default_rng(seed)
    protos = rng.random((10, 64)) < 0.4
    y = np.repeat(np.arange(10), n_per_class)
    noise = rng.random((y.size, 64)) < flip
    X = np.logical_xor(protos[y], noise).astype(float)
    X = np.hstack([X, np.ones((y.size, 1))])
    order = rng.permutation(y.size)
    X, y = X[order], y[order]
    X.flags.writeable = y.flags.writeable = False  # shared by every submission (cached)
    return X, y


STEPS = 25
LEARNING_RATE = 0.5
TRAIN_REG = 1e-3
# The reference reaches ~100 % training accuracy in 25 steps on this easy data set;
# 10 points of slack absorb float32 and loop implementations without letting a wrong
# gradient (which stalls or diverges) through.
ACCURACY_MARGIN = 0.10


def _descend(loss_and_grad, X, y):
    W = np.zeros((10, X.shape[1]))
    losses = []
    for _ in range(STEPS):
        out = loss_and_grad(W)
        if isinstance(out, Failure):
            return out, losses
        loss, dW = out
        losses.append(loss)
        if not (np.isfinite(loss) and np.all(np.isfinite(dW))):
            return Failure(("nan-output",), "the loss or dW became NaN/inf during training"), losses
        W = W - LEARNING_RATE * dW
    return W, losses


def train_digits(check, ctx: CheckContext) -> Verdict:
    """Gradient descent with the student's softmax_loss lowers the loss and learns."""
    X, y = digits()
    dims = {"N": X.shape[0], "D": X.shape[1], "K": 10}

    # The 25 steps run in the student's process in one round trip; each answer is
    # still checked against the W this loop computes from the returned dW.
    steps = ctx.student_descent(
        "softmax_loss", {"W": np.zeros((10, X.shape[1])), "X": X, "y": y, "reg": TRAIN_REG}, dims,
        variable="W", gradient="dW", rate=LEARNING_RATE, steps=STEPS,
    )

    def student(W):
        out = steps({"W": W, "X": X, "y": y, "reg": TRAIN_REG})
        return out if isinstance(out, Failure) else (float(out["loss"]), out["dW"])

    def reference(W, cache=True):
        out = ctx.reference("softmax_loss", {"W": W, "X": X, "y": y, "reg": TRAIN_REG}, cache=cache)
        return float(out["loss"]), out["dW"]

    # The same for every student of a convention: made once per grading process.
    convention = str(ctx.reference_files.get("softmax_loss", ctx.reference_file))
    W_ref = ctx.course.derived(("train_digits", "W_ref", convention), lambda: _descend(reference, X, y)[0])
    ref_acc = float(np.mean(np.argmax(X @ W_ref.T, axis=1) == y))
    W, losses = _descend(student, X, y)
    setting = f"{STEPS} steps of gradient descent (rate {LEARNING_RATE}, reg {TRAIN_REG}) on {X.shape[0]} 8×8 binary digits"
    if isinstance(W, Failure):
        return Verdict(False, f"training stopped: {W.message} ({setting})", 0.0, W.mistakes)
    # Accuracy is scored with the grader's own X @ Wᵀ, from the plain array W.
    acc = float(np.mean(np.argmax(X @ W.T, axis=1) == y))
    true_loss = [reference(np.zeros_like(W))[0], reference(W, cache=False)[0]]
    lowered = true_loss[1] < true_loss[0]
    learned = acc >= ref_acc - ACCURACY_MARGIN
    msg = f"after {setting}: accuracy {acc:.0%} (reference {ref_acc:.0%}), loss {true_loss[0]:.3g} → {true_loss[1]:.3g}"
    if lowered and learned:
        return Verdict(True, msg)
    why = "the loss went up: your dW points uphill or is far too large" if not lowered else "it learns too little: your dW is not the descent direction of the loss"
    return Verdict(False, f"{msg}; {why}", 0.5 if lowered else 0.0)
