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


# ------------------------------------------------------------------ wrong steps
# One step with one known mistake, named by run_em.e_step and run_em.m_step.
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


# ------------------------------------------------------------------ the steps inside the loop
# run_em returns only the final w, so a loop that stops early hides E and M steps that
# are right. As a TA would by hand, the student's own loop is run for one and for two
# passes (the helper _em_passes.py caps it inside the sandbox, see there) and compared
# with one and two EM iterations of the reference:
#   after one pass   w = E(θ)          — the E step alone
#   after two passes w = E(M(E(θ)))    — the M step, given the E step
# θ is the reference's parameters after one iteration from the course's start, not the
# start itself: the start has phi uniform, where an E step that forgets phi_j is still
# right and the fault would be blamed on the M step. A loop that does one E step before
# the loop and then (M, E) per pass is one pass ahead; it is accepted (its first pass is
# compared with the second iterate).
# STEP_RTOL: one or two steps from the same parameters agree with the reference to
# ~1e-12 in float64 (densities by inv/det per point, slogdet or scipy alike) and ~1e-6
# in float32; consecutive EM iterates differ by ≥ 1e-3 on every case.
STEP_RTOL = 1e-5
CAP_FACTORY = "_em_passes:capped"


def _iterates(x, phi, mu, sigma):
    """The reference's w after each pass of the course's loop, until it stops (|Δℓ| < eps)."""
    out, mus = [], [np.asarray(mu)]
    it, ll, prev_ll = 0, None, None
    while it < REFERENCE.MAX_ITER and (prev_ll is None or abs(ll - prev_ll) >= REFERENCE.EPS):
        w, _ = REFERENCE.e_step(x, phi, mu, sigma)
        phi, mu, sigma = REFERENCE.m_step(x, w)
        prev_ll, ll = ll, REFERENCE.e_step(x, phi, mu, sigma)[1]
        out.append(w)
        mus.append(mu)
        it += 1
    return out, mus


def _close(a, b, rtol=STEP_RTOL) -> bool:
    from gradgrader.checks.base import rel_error

    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and rel_error(a, b) <= rtol


def _passes(ctx: CheckContext, case: str) -> dict:
    """What the student's loop gives after one and two passes, the full run, and the
    reference's iterates on ``case`` (memoised per submission)."""
    key = ("cs229-em-passes", case)
    if key not in ctx.notes:
        from gradgrader.cases import Composite

        args = ctx.inputs("run_em", case)
        dims = ctx.course.dims(case)
        x = np.asarray(args["x"], dtype=np.float64)
        w1, _ = REFERENCE.e_step(x, args["phi"], args["mu"], args["sigma"])
        phi1, mu1, sigma1 = REFERENCE.m_step(x, w1)
        theta = {"x": args["x"], "w": w1, "phi": phi1, "mu": mu1, "sigma": sigma1}
        capped = [{**theta, "sigma": Composite(CAP_FACTORY, {"sigma": sigma1, "passes": n})} for n in (1, 2)]
        one, two = ctx.student_many("run_em", capped, dims)
        full = ctx.student("run_em", args, dims)
        with np.errstate(all="ignore"):
            ws, mus = _iterates(x, phi1, mu1, sigma1)
            whole, _ = _iterates(x, args["phi"], args["mu"], args["sigma"])
        ctx.notes[key] = {"args": args, "theta": theta, "one": one, "two": two, "full": full, "ref": ws, "mus": mus, "whole": whole}
    return ctx.notes[key]


def _not_capped(got) -> str | None:
    """The reason the loop could not be capped, if that is why the call failed."""
    if isinstance(got, Failure) and "LoopNotCapped" in got.message:
        return got.message.split("LoopNotCapped:", 1)[-1].split(" (line ")[0].strip()
    return None


def _first_step(p: dict) -> int | None:
    """0 when one pass gives w₁, 1 when it gives w₂ (an E step before the loop), else None."""
    one, ws = p["one"], p["ref"]
    if isinstance(one, Failure):
        return None
    return next((k for k in range(min(2, len(ws))) if _close(one["w"], ws[k])), None)


def _full_right(ctx: CheckContext, p: dict) -> bool:
    full = p["full"]
    return not isinstance(full, Failure) and _close(full["w"], p["whole"][-1], ctx.assignment.rtol)


def _step_case(ctx: CheckContext, check: CheckSpec, case: str, passes: int) -> CaseResult:
    from dataclasses import replace as _replace

    p = _passes(ctx, case)
    where = case_label(ctx, case)
    got = p["one"] if passes == 1 else p["two"]
    step = "E step" if passes == 1 else "M step"
    if _full_right(ctx, p):
        return CaseResult(case, True, 0.0)  # the whole run is right: so are its steps
    reason = _not_capped(got)
    if reason is not None:
        return CaseResult(case, False, None, f"your {step} could not be judged on {where}: the grader runs your loop for {passes} pass{'es' if passes > 1 else ''} and {reason}")
    if isinstance(got, Failure):
        failed = failure_case(ctx, check, case, got, p["theta"], None)
        return _replace(failed, message=f"with your loop stopped after {passes} pass{'es' if passes > 1 else ''}: {failed.message}")
    w = got["w"]
    if not np.all(np.isfinite(w)):
        return nonfinite_case(ctx, check, case, "w", w, p["theta"], "nan-output")
    k = _first_step(p)
    x, a = np.asarray(p["args"]["x"], dtype=np.float64), p["theta"]
    if passes == 1:
        if k is not None:
            return CaseResult(case, True, 0.0)
        err = _rel(w, p["ref"][0])
        with np.errstate(all="ignore"):
            no_sqrt = _e_step_no_sqrt(x, a["phi"], a["mu"], a["sigma"])[0]
        if _close(w, no_sqrt, 1e-4):
            return CaseResult(case, False, err, f"after one pass of your loop (one E step) w differs from the reference on {where}: relative error {err:.2g}; the determinant in the Gaussian density is not square-rooted", ("density-missing-sqrt",))
        return CaseResult(case, False, err, f"after one pass of your loop (one E step) w differs from the reference's E step on {where}: relative error {err:.2g}")
    if k is None:
        return CaseResult(case, False, None, f"your M step is not judged on {where}: it can be judged from w after two passes only when the E step is right (see run_em.e_step)")
    ws = p["ref"]
    if k + 1 >= len(ws):
        return CaseResult(case, True, 0.0)  # the reference converged in one pass: nothing to tell
    if _close(w, ws[k + 1]):
        return CaseResult(case, True, 0.0)
    err = _rel(w, ws[k + 1])
    with np.errstate(all="ignore"):
        try:
            old_mean = REFERENCE.e_step(x, *_m_step_old_mean(x, ws[k], p["mus"][k]))[0]
        except np.linalg.LinAlgError:
            old_mean = np.full_like(w, np.nan)
    if _close(w, old_mean, 1e-4):
        return CaseResult(case, False, err, f"after two passes of your loop w differs from two EM iterations on {where} (relative error {err:.2g}), while the first E step is right; the covariance is taken around the previous mean", ("covariance-uses-wrong-mean",))
    return CaseResult(case, False, err, f"after two passes of your loop w differs from two EM iterations on {where} (relative error {err:.2g}), while the first E step is right: the M step (phi, mu or sigma) is wrong")


def _rel(a, b) -> float:
    from gradgrader.checks.base import rel_error

    return float(rel_error(a, b)) if a.shape == b.shape else float("inf")


def e_step_in_loop(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """w after one pass of the student's loop (capped in the sandbox) equals one E step
    from the course's start (or the full run is right)."""
    cases = [_step_case(ctx, check, case, 1) for case in check.cases]
    return summarise(check, cases, f"your E step is right on {len(cases)} case{'s' if len(cases) > 1 else ''} (w after one pass of your loop)")


def m_step_in_loop(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """w after two passes of the student's loop equals two EM iterations from the start,
    given a right first E step (or the full run is right)."""
    cases = [_step_case(ctx, check, case, 2) for case in check.cases]
    return summarise(check, cases, f"your M step is right on {len(cases)} case{'s' if len(cases) > 1 else ''} (w after two passes of your loop)")


def loop_of_run_em(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """The loop itself: with right steps, run_em must run as many passes as EM needs from
    this start (until |ℓ − prev_ℓ| < 1e-3). Named ``loop-stops-early`` when the full run's
    w is the reference's after fewer passes."""
    results = []
    for case in check.cases:
        p = _passes(ctx, case)
        where = case_label(ctx, case)
        full, ws = p["full"], p["ref"]
        whole = p["whole"]
        if isinstance(full, Failure):
            results.append(failure_case(ctx, check, case, full, p["args"], None))
            continue
        if _full_right(ctx, p):
            results.append(CaseResult(case, True, 0.0))
            continue
        k = _first_step(p)
        two = p["two"]
        steps_right = k is not None and not isinstance(two, Failure) and (k + 1 >= len(ws) or _close(two["w"], ws[k + 1]))
        if not steps_right:
            results.append(CaseResult(case, False, None, f"the loop is not judged on {where}: it can be judged only once the E and M steps are right (see run_em.e_step and run_em.m_step)"))
            continue
        m = len(whole)
        stop = next((j for j in range(m) if _close(full["w"], whole[j])), None)
        if stop is not None:
            n = stop + 1 - k  # passes of the student's loop (one ahead with an E step before it)
            if n == 1:
                hint = ("its stopping test is already true after the first pass: is prev_ll set to ll before the two are "
                        "compared, or does the test compare the wrong things (or the right ones the wrong way round)?")
            else:
                hint = "its stopping test ends it before |ll − prev_ll| < 1e-3 (a larger threshold, or ll of another iteration?)"
            results.append(CaseResult(
                case, False, float(m - stop - 1),
                f"your E and M steps are right, but your loop stops after {n} pass{'es' if n > 1 else ''} on {where}; EM from this start needs {m}: {hint}",
                ("loop-stops-early",),
            ))
            continue
        err = _rel(full["w"], whole[-1])
        results.append(CaseResult(case, False, err, f"your E and M steps are right, but the loop does not end at EM's answer on {where} (relative error {err:.2g}): check how ll and prev_ll are updated and compared, and what the loop returns"))
    return summarise(check, results, "the loop runs until EM converges, on every case")
