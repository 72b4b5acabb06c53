"""Course code for ``cs229-gmm``, named from assignment.toml.

Notation of the problem set: x (n, d), K Gaussians phi (K,), mu (K, d), sigma (K, d, d),
w (n, K). Here: the data and the course-style initialisation, known wrong EM runs that
name mistakes (diagnosis variants), and the likelihood check that needs no reference.
Runs in the grader's process only, never beside student code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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


def _load_reference():
    """reference.py beside this file, under a name of its own (trusted course code)."""
    spec = importlib.util.spec_from_file_location("_gradgrader_cs229_gmm_reference", Path(__file__).with_name("reference.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _load_reference()


# ------------------------------------------------------------------ inputs
def clusters(rng, params, env):
    """n points from K Gaussian clusters (equal sizes, in random order): centres
    ``separation``·N(0, I), each cluster a random linear image of N(0, I) of scale
    ``spread``. ``data`` seeds the draw, so a case keeps the data set it was chosen for
    (see assignment.toml) whatever the assignment's seed."""
    rng = np.random.default_rng(int(params["data"]))
    n, d = env.shape(params)
    k = int(env.dim("K"))
    centres = float(params.get("separation", 4.0)) * rng.standard_normal((k, d))
    z = np.arange(n) % k
    rng.shuffle(z)
    spread = float(params.get("spread", 0.5))
    A = spread * (rng.standard_normal((k, d, d)) + np.eye(d))
    return centres[z] + np.einsum("nij,nj->ni", A[z], rng.standard_normal((n, d)))


def _groups(env):
    """The course's initialisation splits the points into K groups; here point i goes
    to group i mod K (the points are in random order)."""
    x = env.get("x")
    k = int(env.dim("K"))
    return x, np.arange(x.shape[0]) % k, k


def group_means(rng, params, env):
    x, g, k = _groups(env)
    return np.stack([x[g == j].mean(axis=0) for j in range(k)])


def group_covariances(rng, params, env):
    x, g, k = _groups(env)
    return np.stack([np.cov(x[g == j].T, bias=True) for j in range(k)])


# ------------------------------------------------------------------ wrong variants
# Whole EM runs with one known mistake, in the course's order (E step, M step, new
# log-likelihood) and with its stopping rule; the final w is what such a submission returns.
def _run(x, w, phi, mu, sigma, e_step, m_step):
    it, ll, prev_ll = 0, None, None
    while it < REFERENCE.MAX_ITER and (prev_ll is None or abs(ll - prev_ll) >= REFERENCE.EPS):
        w, _ = e_step(x, phi, mu, sigma)
        phi, mu, sigma = m_step(x, w, mu)
        prev_ll, ll = ll, e_step(x, phi, mu, sigma)[1]
        it += 1
    return w


def _m_step(x, w, old_mu):
    return REFERENCE.m_step(x, w)


def _m_step_old_mean(x, w, old_mu):
    """sigma_j built around the previous iteration's mean mu_j instead of the new one."""
    phi, mu, _ = REFERENCE.m_step(x, w)
    nk = w.sum(axis=0)
    sigma = np.stack([(w[:, j, None] * (x - old_mu[j])).T @ (x - old_mu[j]) / nk[j] for j in range(w.shape[1])])
    return phi, mu, sigma


def _e_step_no_sqrt(x, phi, mu, sigma):
    """N(x; mu, sigma) normalised by (2π)^(d/2)·det(sigma) instead of √((2π)^d det(sigma))."""
    f = REFERENCE.log_joint(x, phi, mu, sigma) - 0.5 * np.array([np.linalg.slogdet(s)[1] for s in sigma])
    m = f.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(f - m).sum(axis=1, keepdims=True))
    return np.exp(f - lse), float(lse.sum())


def _or_nan(run, x, w, phi, mu, sigma):
    """A wrong EM run may collapse a component (singular covariance): then it names
    nothing (NaN never matches a submission's output) instead of failing the check."""
    with np.errstate(all="ignore"):
        try:
            return run(x, w, phi, mu, sigma)
        except np.linalg.LinAlgError:
            return np.full(np.shape(w), np.nan)


def em_covariance_old_mean(x, w, phi, mu, sigma):
    return _or_nan(lambda *a: _run(*a, REFERENCE.e_step, _m_step_old_mean), x, w, phi, mu, sigma)


def em_density_missing_sqrt(x, w, phi, mu, sigma):
    return _or_nan(lambda *a: _run(*a, _e_step_no_sqrt, _m_step), x, w, phi, mu, sigma)


# ------------------------------------------------------------------ checks
# run_em returns only w, so the likelihood is judged on the model w implies: the
# grader's own M step gives θ(w), whose log-likelihood EM guarantees to be at least the
# starting one (each iteration never lowers ℓ). And at the course's stopping rule
# (|Δℓ| < 1e-3) EM has converged: one more iteration raises ℓ by far less than 10·1e-3.
# Rounding of ℓ is ~1e-15 of Σ_i |log p(x_i)|, far below LL_SLACK.
LL_SLACK = 1e-9
CONVERGED = 10 * REFERENCE.EPS


def _ll_after_one_more_step(x, theta):
    w, ll = REFERENCE.e_step(x, *theta)
    return REFERENCE.e_step(x, *REFERENCE.m_step(x, w))[1] - ll


def likelihood_of_result(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The model implied by the returned w (the grader's M step) has a log-likelihood
    no lower than the initial parameters', and one more EM iteration barely changes it."""
    results: list[CaseResult] = []
    for case in check.cases:
        args = ctx.inputs("run_em", case)
        dims = ctx.course.dims(case)
        got = ctx.student("run_em", args, dims)
        if isinstance(got, Failure):
            results.append(failure_case(ctx, check, case, got, args, None))
            continue
        w = got["w"]
        if not np.all(np.isfinite(w)):
            results.append(nonfinite_case(ctx, check, case, "w", w, args, "nan-output"))
            continue
        where = case_label(ctx, case)
        x = args["x"]
        start = REFERENCE.e_step(x, args["phi"], args["mu"], args["sigma"])[1]
        with np.errstate(all="ignore"):
            try:
                theta = REFERENCE.m_step(x, w)
                end = REFERENCE.e_step(x, *theta)[1]
                more = _ll_after_one_more_step(x, theta)
            except np.linalg.LinAlgError:
                end = more = float("nan")
        if np.any(w < 0) or not (np.isfinite(end) and np.isfinite(more)):
            results.append(CaseResult(case, False, None, f"the w returned on {where} implies no Gaussian mixture (negative entries, or a component with no weight or a singular covariance)"))
        elif end < start - LL_SLACK * abs(start):
            results.append(CaseResult(case, False, start - end, f"the model your w implies has log-likelihood {end:.6g} on {where}, lower than the initial parameters' {start:.6g}: EM never lowers it"))
        elif more > CONVERGED:
            results.append(CaseResult(case, False, more, f"EM has not converged at your w on {where}: one more iteration raises the log-likelihood from {end:.6g} by {more:.3g} (the loop stops when the change is below {REFERENCE.EPS:g})"))
        else:
            results.append(CaseResult(case, True, 0.0))
    return summarise(check, results, f"the model your w implies has a higher log-likelihood than the start and is converged, on {len(results)} case{'s' if len(results) > 1 else ''}")


def uniform_weights(rng, params, env):
    """w = 1/K everywhere (n, K): the course's initial responsibilities."""
    return np.full((int(env.dim("n")), int(env.dim("K"))), 1.0 / int(env.dim("K")))
