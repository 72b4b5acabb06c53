"""Course code for ``cs231n-softmax``, named from assignment.toml.

Input generators for the shifted-score cases, the terms dW is made of, a known wrong
answer, and two checks. Runs in the grader's process only, never beside student code.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gradgrader.checks.base import (
    CheckContext,
    CheckResult,
    Finding,
    summarise,
)
from gradgrader.checks.values import compare_case, stability
from gradgrader.spec import CheckSpec


# ------------------------------------------------------------------ input generators
def with_bias_column(rng, params, env):
    """Gaussian samples whose last feature is the constant 1, as in the course (the bias
    trick: CS231n appends a column of ones to X and a row of biases to W)."""
    a = rng.standard_normal(env.shape(params))
    a[:, -1] = 1.0
    return a


def with_bias_row(rng, params, env):
    """Weights (D, C) whose last row — the biases — is ``value`` for every class: with the
    bias feature of 1 this adds ``value`` to every score without changing the softmax."""
    a = params.get("scale", 1.0) * rng.standard_normal(env.shape(params))
    a[-1, :] = params["value"]
    return a


# ------------------------------------------------------------------ gradient terms
# dW = XᵀP/N − XᵀY/N + 2·reg·W (reference.py) with P = softmax(XW) and Y the one-hot
# labels; the terms add up to the reference, so the 2016 convention (½·reg·ΣW²,
# gradient reg·W) is the coefficient pattern (1, 1, 0.5).
def _probabilities(W, X):
    s = X @ W
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def dW_expectation(W, X, y, reg):
    return X.T @ _probabilities(W, X) / X.shape[0]


def dW_data(W, X, y, reg):
    Y = np.zeros((X.shape[0], W.shape[1]))
    Y[np.arange(X.shape[0]), np.asarray(y).astype(int)] = 1.0
    return -(X.T @ Y) / X.shape[0]


def dW_regulariser(W, X, y, reg):
    return 2.0 * reg * W


# ------------------------------------------------------------------ wrong variants
def dW_penalty_in_denominator(W, X, y, reg):
    """``dW /= num_train + 2 * reg * W``: Python reads it as dW = dW / (N + 2·reg·W),
    so the penalty's gradient divides the data term (entry by entry) instead of being
    added to it."""
    data = dW_expectation(W, X, y, reg) + dW_data(W, X, y, reg)
    return data * X.shape[0] / (X.shape[0] + 2.0 * reg * W)


# The course's step: eval_numerical_gradient and grad_check_sparse in the notebook's
# gradient_check.py both use central differences with h = 1e-5, and students who
# compute dW numerically copy them.
FD_STEP = 1e-5


def _loss(W, X, y, reg):
    """The loss of reference.py (reg·ΣW²), for the finite-difference variant."""
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return -log_p[np.arange(X.shape[0]), np.asarray(y).astype(int)].mean() + reg * float(np.sum(W * W))


def dW_central_differences(W, X, y, reg):
    """dW by central differences of the loss, (L(W + h·E_dj) − L(W − h·E_dj)) / 2h with the
    course's h: a numerical gradient handed in as the analytic one.

    Where a step of h moves no score by more than 1e-3 (every case but 'steep') central
    differences agree with the analytic dW to ~1e-6 ≪ the diagnosis's 1e-4: the variant
    cannot be told from a right answer there, in either convention. NaN is returned
    instead (it never matches), which also spares 2·D·C losses (61,460 of them on the
    course-size case)."""
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if FD_STEP * float(np.max(np.abs(X), initial=0.0)) <= 1e-3:
        return np.full(W.shape, np.nan)
    dW = np.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        E = np.zeros_like(W)
        E[idx] = FD_STEP
        dW[idx] = (_loss(W + E, X, y, reg) - _loss(W - E, X, y, reg)) / (2 * FD_STEP)
    return dW


# ------------------------------------------------------------------ checks
# The engine's stability check with one more rule, until the engine's kind has it:
# a finite but wrong answer on the shifted scores is named too. A clipping
# "stabiliser" (np.clip(scores, -30, 30)) never overflows, so kind = "stability"
# alone reports it without a mistake id; it is right on ordinary scores and wrong on
# shifted ones, which is what unstable-softmax means here.
def stability_named(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """kind = "stability" (parameters mistake, output, rtol), and a case whose output is
    finite but wrong is named ``mistake`` as well when the function matches the reference
    on every ``baseline`` case (ordinary inputs)."""
    result = stability(check, ctx)
    if result.passed:
        return result
    mistake = str(check.params["mistake"])
    baseline = [str(c) for c in check.params.get("baseline", [])]
    outputs = [o.name for o in ctx.assignment.functions[check.function].outputs]

    def right_on_ordinary_inputs() -> bool:
        return bool(baseline) and all(compare_case(ctx, check, case, ctx.assignment.rtol, outputs).passed for case in baseline)

    cases = []
    for c in result.cases:
        if not c.passed and not c.mistakes and c.error is not None and np.isfinite(c.error) and right_on_ordinary_inputs():
            names = ", ".join(f"'{b}'" for b in baseline)
            c = replace(
                c,
                message=f"{c.message}; right on ordinary inputs ({names}), wrong once the scores are large",
                mistakes=(mistake,),
                finding=replace(c.finding, mistake=mistake) if c.finding is not None else Finding(mistake, ""),
            )
        cases.append(c)
    return summarise(check, cases, result.message)
