"""Course code for ``mit686x-em``, named from assignment.toml.

Notation of the project: X (n, d), a mixture θ = (μ (K, d), σ² (K,), p (K,)) of
spherical Gaussians, the posterior p(j | i) (n, K). Here: the far-point generator and
the M step's EM property. Runs in the grader's process only, never beside student code.
"""

from __future__ import annotations

import numpy as np

from gradgrader.checks.base import (
    CaseResult,
    CheckContext,
    CheckResult,
    Failure,
    case_label,
    summarise,
)
from gradgrader.checks.values import failure_case, nonfinite_case
from gradgrader.spec import CheckSpec

LOG_2PI = float(np.log(2.0 * np.pi))


# ------------------------------------------------------------------ input generators
def far_points(rng, params, env):
    """Gaussian points (``scale``·N(0, 1)) whose last ``far`` rows lie at least ``sigmas``
    standard deviations from every mean: there ‖x − μ_j‖² / (2σ_j²) ≥ sigmas²/2, so with
    sigmas = 50 every density is exp(−1250) or less, 0.0 in float64 (exp underflows below
    −745), and a posterior not computed in the log domain is 0/0 = NaN."""
    shape = env.shape(params)
    X = float(params.get("scale", 1.0)) * rng.standard_normal(shape)
    mu, var = env.get("mu"), env.get("var")
    centre = mu.mean(axis=0)
    reach = float(params.get("sigmas", 50.0)) * float(np.sqrt(var.max())) + float(np.linalg.norm(mu - centre, axis=1).max())
    for i in range(shape[0] - int(params["far"]), shape[0]):
        u = rng.standard_normal(shape[1])
        X[i] = centre + reach * u / np.linalg.norm(u)
    return X


# ------------------------------------------------------------------ math
def _log_joint(X, mu, var, p):
    """log p_j + log N(x_i; μ_j, σ_j² I), shape (n, K)."""
    d = X.shape[1]
    sq = ((X[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2)
    return np.log(p) - 0.5 * d * (LOG_2PI + np.log(var)) - sq / (2 * var)


def _posterior_and_ll(f):
    m = f.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(f - m).sum(axis=1, keepdims=True))
    return np.exp(f - lse), float(lse.sum())


def log_likelihood(X, mu, var, p) -> float:
    """ℓ(θ) = Σ_i log Σ_j p_j N(x_i; μ_j, σ_j² I), computed by the grader."""
    return _posterior_and_ll(_log_joint(X, mu, var, p))[1]


# ------------------------------------------------------------------ checks
# The M step maximises the expected complete-data log-likelihood, so with the E step's
# posterior of θ it returns θ' with ℓ(θ') ≥ ℓ(θ) (the EM inequality). Rounding of ℓ is
# ~1e-15 of Σ_i |log Σ_j …|; 1e-9 relative is far above it and far below any real drop.
EM_SLACK = 1e-9
# Weights of float32 code sum to 1 within K·6e-8.
WEIGHTS_TOL = 1e-6


def mstep_never_decreases(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """For the case's mixture θ and its exact posterior, the student's mstep returns θ'
    with ℓ(θ') ≥ ℓ(θ): one EM step never lowers the likelihood. Needs no reference M
    step: the posterior and ℓ are the grader's own formulas."""
    results: list[CaseResult] = []
    for case in check.cases:
        args = ctx.inputs("estep", case)
        X, theta = args["X"], args["mixture"]
        mu, var, p = (np.asarray(theta.fields[k], dtype=np.float64) for k in ("mu", "var", "p"))
        post = _posterior_and_ll(_log_joint(X, mu, var, p))[0]
        dims = ctx.course.dims(case)
        m_args = {"X": X, "post": post}
        got = ctx.student("mstep", m_args, dims)
        if isinstance(got, Failure):
            results.append(failure_case(ctx, check, case, got, m_args, None))
            continue
        bad = next((o for o in ("mu", "var", "p") if not np.all(np.isfinite(got[o]))), None)
        if bad is not None:
            results.append(nonfinite_case(ctx, check, case, bad, got[bad], m_args, "nan-output"))
            continue
        before = log_likelihood(X, mu, var, p)
        if np.any(got["var"] <= 0) or np.any(got["p"] <= 0) or abs(float(got["p"].sum()) - 1.0) > WEIGHTS_TOL:
            results.append(CaseResult(
                case, False, None,
                f"mstep's result is not a mixture on {case_label(ctx, case)}: variances and weights must be > 0 "
                f"and the weights must sum to 1 (they sum to {float(got['p'].sum()):.6g})",
            ))
            continue
        after = log_likelihood(X, got["mu"], got["var"], got["p"])
        drop = before - after
        if drop > EM_SLACK * abs(before):
            results.append(CaseResult(
                case, False, drop / abs(before),
                f"one EM step with your mstep lowers the log-likelihood on {case_label(ctx, case)}: "
                f"ℓ = {before:.6g} before, {after:.6g} after — the M step must never decrease it",
            ))
        else:
            results.append(CaseResult(case, True, 0.0))
    return summarise(check, results, f"one EM step with your mstep never lowers ℓ(θ), on {len(results)} cases")
