"""Course code for the gmm assignment, named from assignment.toml.

Notation of SPEC §2: X (N, D), π (K,), μ (K, D), Σ (K, D, D), q (N, K),
Λ_k = Σ_k⁻¹, N_k = Σ_n q_nk, d_nk = x_n − μ_k, and

    Q = Σ_n Σ_k q_nk [log π_k + ½ log det Λ_k − ½ d_nkᵀ Λ_k d_nk − (D/2) log 2π].

What is here: the far-point input generator, the objectives that the finite-difference
checks differentiate, the known wrong answers that name mistakes (diagnosis variants),
and the hook checks — finite differences of Q over Λ, the conditions that define the
M step, and a short EM run. Runs in the grader's process only, never beside student
code; student outputs arrive as plain float arrays and are validated before any
linear algebra touches them, so no submission can make a hook raise.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gradgrader.checks.base import (
    CaseResult,
    CheckContext,
    CheckResult,
    Failure,
    Finding,
    case_label,
    rel_error,
    summarise,
)
from gradgrader.checks.gradients import (
    DIRECTIONS,
    OBJECTIVE_TOL,
    REFERENCE_STEP,
    course_differences,
    difference_step,
    random_directions,
)
from gradgrader.checks.values import failure_case, nonfinite_case
from gradgrader.diagnose import MATCH_RTOL, diagnose, error_map
from gradgrader.spec import CheckSpec

LOG_2PI = float(np.log(2.0 * np.pi))


def _load_reference() -> Any:
    """The course's reference.py beside this file (trusted code, for the wrong variants)."""
    path = Path(__file__).with_name("reference.py")
    spec = importlib.util.spec_from_file_location("_gradgrader_gmm_hooks_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _load_reference()


# ------------------------------------------------------------------ input generators
def far_points(rng, params, env):
    """Gaussian points (``scale``·N(0, 1)) whose last ``far`` rows lie at least
    ``sigmas`` standard deviations from every mean, in the metric of each component:
    min_k √((x − μ_k)ᵀ Λ_k (x − μ_k)) = ``sigmas`` exactly for the nearest component.

    At 50σ every log density is below −1250, so π_k N(x; μ_k, Σ_k) is exactly 0.0 in
    float64 (exp underflows below −745) for every k; a log Σ exp that is not
    computed as a log-sum-exp gives log 0 = −inf, and 0/0 = NaN responsibilities.
    """
    shape = env.shape(params)
    X = float(params.get("scale", 1.0)) * rng.standard_normal(shape)
    mu, Sigma = env.get("mu"), env.get("Sigma")
    Lam = np.linalg.inv(Sigma)
    r = float(params.get("sigmas", 50.0))
    centre = mu.mean(axis=0)
    for n in range(shape[0] - int(params["far"]), shape[0]):
        u = rng.standard_normal(shape[1])
        u /= np.linalg.norm(u)
        # (c + t u − μ_k)ᵀ Λ_k (c + t u − μ_k) = r² is a quadratic a t² + b t + c0 = 0 in t;
        # beyond its larger root the distance to μ_k exceeds r, so take the largest root over k.
        e = centre - mu  # (K, D)
        a = np.einsum("i,kij,j->k", u, Lam, u)
        b = 2.0 * np.einsum("i,kij,kj->k", u, Lam, e)
        c0 = np.einsum("ki,kij,kj->k", e, Lam, e) - r * r
        t = (-b + np.sqrt(b * b - 4.0 * a * c0)) / (2.0 * a)
        X[n] = centre + float(np.max(t)) * u
    return X


# ------------------------------------------------------------------ math
def _log_joint(X, pi, mu, Sigma):
    """a_nk = log π_k + log N(x_n; μ_k, Σ_k), shape (N, K)."""
    D = X.shape[1]
    d = X[:, None, :] - mu[None, :, :]
    maha = np.sum(d * np.linalg.solve(Sigma[None], d[..., None])[..., 0], axis=-1)
    logdet = np.linalg.slogdet(Sigma)[1]
    return np.log(pi)[None, :] - 0.5 * (D * LOG_2PI + logdet[None, :] + maha)


def _q_value(X, q, mu, Lam, pi=None) -> float:
    """Q at (π, μ, Λ); the log π term is left out when ``pi`` is None (it does not depend
    on μ or Λ). −inf when some Λ_k is not positive definite (outside the domain)."""
    D = X.shape[1]
    d = X[:, None, :] - mu[None, :, :]
    maha = np.einsum("nki,kij,nkj->nk", d, Lam, d)
    sign, logdet = np.linalg.slogdet(Lam)
    if np.any(sign <= 0):
        return float("-inf")
    a = 0.5 * logdet[None, :] - 0.5 * maha - 0.5 * D * LOG_2PI
    if pi is not None:
        a = a + np.log(pi)[None, :]
    return float(np.sum(q * a))


def quiet(check_fn: Callable[[CheckSpec, CheckContext], CheckResult]) -> Callable[[CheckSpec, CheckContext], CheckResult]:
    """Run a hook check with numpy's floating-point warnings off: student values may
    overflow or divide by zero, and every result is tested for finiteness instead."""

    @functools.wraps(check_fn)
    def run(check: CheckSpec, ctx: CheckContext) -> CheckResult:
        with np.errstate(all="ignore"):
            return check_fn(check, ctx)

    return run


def _sym(M):
    return 0.5 * (M + np.swapaxes(M, -1, -2))


def _spd(S) -> str:
    """Why the (K, D, D) array S is not a set of SPD matrices, or '' if it is."""
    for k in range(S.shape[0]):
        norm = float(np.linalg.norm(S[k]))
        if float(np.linalg.norm(S[k] - S[k].T)) > SYMMETRY_TOL * max(norm, 1e-300):
            return f"Σ_{k} is not symmetric (‖Σ_k − Σ_kᵀ‖ is {np.linalg.norm(S[k] - S[k].T) / max(norm, 1e-300):.2g} of ‖Σ_k‖)"
        try:
            np.linalg.cholesky(_sym(S[k]))
        except np.linalg.LinAlgError:
            low = float(np.min(np.linalg.eigvalsh(_sym(S[k]))))
            return f"Σ_{k} is not positive definite (its smallest eigenvalue is {low:.3g})"
    return ""


# ------------------------------------------------------------------ objectives (finite differences)
def logdet(A):
    """log |det A|; its gradient is A⁻ᵀ whatever the sign of det A."""
    return float(np.linalg.slogdet(A)[1])


def quadform(A, x):
    """xᵀAx, linear in A."""
    return float(x @ A @ x)


def Q_of_mu(X, q, mu, Sigma):
    """Q as a function of μ (Λ_k = Σ_k⁻¹ fixed; the log π_k terms are constant)."""
    return _q_value(X, q, mu, np.linalg.inv(Sigma))


def Q_of_precision(X, q, mu, Lam):
    """Q as a function of Λ (every D² entry a variable; the log π_k terms are constant)."""
    return _q_value(X, q, mu, Lam)


# ------------------------------------------------------------------ wrong variants (diagnosis)
# Some mistakes cannot show on some inputs: A⁻¹ = A⁻ᵀ and 2G − diag(G) = G when D = 1, x̄ = μ_1
# when K = 1. There the wrong answer is the right one, and offering it would let the
# diagnoser name that mistake for any near miss; such a variant is NaN ("nothing to
# recognise here"), which matches no answer (and passes `gradgrader validate`).
def _distinct(wrong, right):
    wrong = np.asarray(wrong, dtype=np.float64)
    return np.full(wrong.shape, np.nan) if rel_error(wrong, np.asarray(right, dtype=np.float64)) <= MATCH_RTOL else wrong


def logdet_inverse(A):
    """A⁻¹ where A⁻ᵀ is right: inverse-not-transposed."""
    return _distinct(np.linalg.inv(A), REFERENCE.grad_logdet(A))


def quadform_wrt_x_vector(A, x):
    """∇_x xᵀAx = (A + Aᵀ) x, shape (D,): the gradient with respect to x returned as is."""
    return (A + A.T) @ x


def quadform_wrt_x(A, x):
    """(∇_x xᵀAx) xᵀ = ((A + Aᵀ) x) xᵀ: the gradient with respect to x forced into D × D."""
    return _distinct(np.outer((A + A.T) @ x, x), REFERENCE.grad_quadform(A, x))


def e_step_over_samples(X, pi, mu, Sigma):
    """π_k N(x_n; μ_k, Σ_k) normalised over the points n instead of the components k."""
    a = _log_joint(X, pi, mu, Sigma)
    c = a.max(axis=0, keepdims=True)
    wrong = np.exp(a - c - np.log(np.sum(np.exp(a - c), axis=0, keepdims=True)))
    return _distinct(wrong, REFERENCE.e_step(X, pi, mu, Sigma))


def grad_mu_with_covariance(X, q, mu, Sigma):
    """Σ_k Σ_n q_nk (x_n − μ_k): Σ_k where Λ_k belongs."""
    r = q.T @ X - q.sum(axis=0)[:, None] * mu
    return _distinct(np.einsum("kij,kj->ki", Sigma, r), REFERENCE.grad_mu(X, q, mu, Sigma))


def precision_unique_entries(X, q, mu, Sigma):
    """2G − diag(G): the gradient over the unique entries of a symmetric Λ_k."""
    G = REFERENCE.grad_precision(X, q, mu, Sigma)
    return _distinct(2.0 * G - G * np.eye(X.shape[1]), G)


def precision_with_precision(X, q, mu, Sigma):
    """½ Σ_n q_nk (Λ_k − d dᵀ): ∇ log det Λ taken as Λ instead of Λ⁻ᵀ = Σ."""
    G = REFERENCE.grad_precision(X, q, mu, Sigma)
    N_k = q.sum(axis=0)[:, None, None]
    return _distinct(G + 0.5 * N_k * (np.linalg.inv(Sigma) - Sigma), G)


def covariance_around_data_mean(X, q):
    """Σ_n q_nk (x_n − x̄)(x_n − x̄)ᵀ / N_k: the data mean x̄ where the new μ_k belongs."""
    Xc = X - X.mean(axis=0)
    wrong = np.einsum("nk,ni,nj->kij", q, Xc, Xc) / q.sum(axis=0)[:, None, None]
    return _distinct(wrong, REFERENCE.m_step(X, q)[2])


def precision_instead_of_covariance(X, q):
    """Λ_k = Σ_k⁻¹ returned where the covariance Σ_k was asked for."""
    Sigma = REFERENCE.m_step(X, q)[2]
    return _distinct(np.linalg.inv(Sigma), Sigma)


# ------------------------------------------------------------------ grad_precision: differences over Λ
@quiet
def precision_finite_differences(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """∂Q/∂Λ against fourth-order differences of Q(Λ) at Λ = Σ⁻¹.

    Along a symmetric direction V the all-entries gradient G pairs as ⟨G, V⟩, and the
    unique-entries gradient 2G − diag(G) as Σ_{i≤j} (2G − diag G)_ij V_ij; both pairings
    are tested, so the message says which convention the answer follows.
    """
    fn = check.function
    n = int(check.params.get("directions", DIRECTIONS))
    tol = float(check.params.get("tol", OBJECTIVE_TOL))
    symmetric = bool(check.params.get("symmetric", True))
    kind = "symmetric " if symmetric else ""
    results: list[CaseResult] = []
    for case in check.cases:
        args = ctx.inputs(fn, case)
        dims = ctx.course.dims(case)
        ref = ctx.reference(fn, args)
        got = ctx.student(fn, args, dims)
        if isinstance(got, Failure):
            results.append(failure_case(ctx, check, case, got, args, ref))
            continue
        g = got["G"]
        if not np.all(np.isfinite(g)):
            results.append(nonfinite_case(ctx, check, case, "G", g, args, "nan-output"))
            continue
        X, q, mu = args["X"], args["q"], args["mu"]
        lam0 = _sym(np.linalg.inv(args["Sigma"]))
        dirs = random_directions(ctx.rng(check.id, case), lam0.shape, n, symmetric)
        # As kind = "objective_gradient" does: ε₆₄^(1/5) times the RMS entry, refined where
        # Λ is near singular (Q has log det Λ in it).
        # The course's inputs alone decide them: once per process, not per submission.
        fd = ctx.course.derived(
            ("precision_finite_differences", check.id, case),
            lambda X=X, q=q, mu=mu, lam0=lam0, dirs=dirs: course_differences(
                lambda Ls: [Q_of_precision(X, q, mu, L) for L in Ls], lam0, dirs, difference_step(REFERENCE_STEP, lam0)
            ),
        )
        err = rel_error(np.array([np.vdot(g, v) for v in dirs]), fd)
        if err <= tol:
            results.append(CaseResult(case, True, err))
            continue
        err_unique = rel_error(np.array([np.vdot(np.triu(g), v) for v in dirs]), fd)
        where = case_label(ctx, case, args)
        message = (
            f"grad_precision(…) is not ∂Q/∂Λ over all D² entries: along {n} random {kind}directions V of Λ, "
            f"⟨G, V⟩ and finite differences of Q differ by {err:.2g} (relative) on {where}"
        )
        finding = diagnose(ctx, fn, "G", g, ref["G"], args, dims)
        if symmetric and err_unique <= tol:
            message += (
                f"; it agrees instead with the unique-entries convention (Σ_{{i≤j}} G_ij V_ij matches to {err_unique:.1g}): "
                "2G − diag(G), the gradient over the D(D+1)/2 free entries of a symmetric Λ_k, where G was asked for"
            )
            if finding is None or finding.mistake is None:
                finding = Finding(
                    "symmetric-gradient-convention",
                    "the answer is the unique-entries gradient 2G − diag(G)",
                    "",
                    error_map(g, ref["G"]),
                )
        else:
            if symmetric and dims["D"] > 1:
                message += f"; nor is it the unique-entries gradient 2G − diag(G) (that pairing is off by {err_unique:.2g})"
            if finding is not None and finding.summary:
                message += f"; {finding.summary}"
        mistakes = (finding.mistake,) if finding is not None and finding.mistake else ()
        results.append(CaseResult(case, False, err, message, mistakes, finding))
    return summarise(
        check, results, f"agrees with finite differences of Q over Λ (all D² entries) on {len(results)} cases"
    )


# ------------------------------------------------------------------ m_step: the defining conditions
# π_k and Σ_k are checked to 1e-6 relative: correct float64 code is at ~1e-15 and
# float32 code at ~1e-7 (sums of ≤ 40 terms), while every mistake is O(1) off.
SIMPLEX_TOL = 1e-6
SYMMETRY_TOL = 1e-6
# ‖∂Q/∂θ_k‖ over Σ_n of the norms of its terms: 0 at the M step's answer, ~1e-16 for
# float64 code and ≲ √N·6e-8 < 1e-6 for float32 code with N ≤ 40; a wrong mean or
# covariance leaves a fraction of order 1e-2 or more.
STATIONARY_TOL = 1e-6
# A random feasible step moves each block by 1e-3 of its own scale: Q then drops by
# ~ε² ≈ 1e-6 of its size at a maximum, and rises by ~ε·‖∇Q‖ wherever the gradient is
# not zero; rounding of Q is ~1e-15 of the size of its terms, far below ASCENT_SLACK.
STEP = 1e-3
ASCENT_SLACK = 1e-10

Judge = Callable[[str, Mapping[str, Any], Mapping[str, int], Mapping[str, np.ndarray]], CaseResult]


def _named(ctx: CheckContext, args, dims, output: str, value: np.ndarray) -> tuple[Finding | None, tuple[str, ...]]:
    """Diagnose one m_step output against the reference's (None if it is right)."""
    ref = ctx.reference("m_step", args)[output]
    if value.shape == ref.shape and rel_error(value, ref) <= ctx.assignment.rtol:
        return None, ()
    finding = diagnose(ctx, "m_step", output, value, ref, args, dims)
    return finding, ((finding.mistake,) if finding is not None and finding.mistake else ())


def _fail(ctx, case, args, dims, output, value, err, message) -> CaseResult:
    finding, mistakes = _named(ctx, args, dims, output, value)
    if finding is not None and finding.summary:
        message += f"; {finding.summary}"
    return CaseResult(case, False, err, message, mistakes, finding)


def _m_step_cases(check: CheckSpec, ctx: CheckContext, uses: tuple[str, ...], judge: Judge, passed: str) -> CheckResult:
    """Run ``judge`` on the student's m_step output for every case of the check; ``uses``
    names the outputs the check reads (only those must be finite)."""
    results: list[CaseResult] = []
    for case in check.cases:
        args = ctx.inputs("m_step", case)
        dims = ctx.course.dims(case)
        got = ctx.student("m_step", args, dims)
        if isinstance(got, Failure):
            results.append(failure_case(ctx, check, case, got, args, None))
            continue
        bad = next((o for o in uses if not np.all(np.isfinite(got[o]))), None)
        if bad is not None:
            results.append(nonfinite_case(ctx, check, case, bad, got[bad], args, "nan-output"))
            continue
        results.append(judge(case, args, dims, got))
    return summarise(check, results, f"{passed} on {len(results)} cases")


@quiet
def m_step_simplex(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """π is the maximiser of Σ_k N_k log π_k subject to Σ_k π_k = 1.

    Stationarity of the Lagrangian Σ_k N_k log π_k + λ(Σ_k π_k − 1) gives N_k/π_k = −λ
    for every k, and summing π_k = −N_k/λ over k gives λ = −N: so N_k/π_k = N."""
    tol = float(check.params.get("tol", SIMPLEX_TOL))

    def judge(case, args, dims, got):
        pi = got["pi"]
        N = args["X"].shape[0]
        N_k = args["q"].sum(axis=0)
        where = case_label(ctx, case, args)
        if np.any(pi <= 0):
            k = int(np.argmin(pi))
            return _fail(ctx, case, args, dims, "pi", pi, float("inf"),
                         f"π_{k} = {pi[k]:.4g} on {where}: mixing weights must be positive")
        total = float(pi.sum())
        ratio = N_k / pi  # = N at the constrained maximum
        err = max(abs(total - 1.0), float(np.max(np.abs(ratio / N - 1.0))))
        if err <= tol:
            return CaseResult(case, True, err)
        return _fail(
            ctx, case, args, dims, "pi", pi, err,
            f"m_step's pi is not the constrained maximum on {where}: Σ_k π_k = {total:.6g} (it must be 1), and the "
            f"Lagrangian Σ_k N_k log π_k + λ(Σ_k π_k − 1) with λ = −N needs N_k/π_k = N = {N} for every k, "
            f"where yours gives N_k/π_k from {ratio.min():.4g} to {ratio.max():.4g}",
        )

    return _m_step_cases(check, ctx, ("pi",), judge, "π is on the simplex and N_k/π_k = N (the Lagrangian is stationary)")


@quiet
def m_step_spd(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Every returned Σ_k is a covariance: symmetric and positive definite."""

    def judge(case, args, dims, got):
        why = _spd(got["Sigma"])
        if not why:
            return CaseResult(case, True, 0.0)
        return _fail(ctx, case, args, dims, "Sigma", got["Sigma"], float("inf"), f"{why} on {case_label(ctx, case, args)}")

    return _m_step_cases(check, ctx, ("Sigma",), judge, "every Σ_k is symmetric positive definite")


def _stationary(check: CheckSpec, ctx: CheckContext, output: str) -> CheckResult:
    """‖∂Q/∂θ_k‖ relative to the size of its terms, at the student's (μ, Σ), where the
    gradient comes from the reference's grad_mu / grad_precision (θ = μ or Λ)."""
    tol = float(check.params.get("tol", STATIONARY_TOL))

    def judge(case, args, dims, got):
        X, q = args["X"], args["q"]
        mu, Sigma = got["mu"], got["Sigma"]
        where = case_label(ctx, case, args)
        why = _spd(Sigma)
        if why:
            return _fail(ctx, case, args, dims, "Sigma", Sigma, float("inf"),
                         f"∂Q/∂{'μ' if output == 'mu' else 'Λ'}_k cannot be evaluated on {where}: {why}")
        at = {"X": X, "q": q, "mu": mu, "Sigma": Sigma}
        d = X[:, None, :] - mu[None, :, :]  # (N, K, D)
        if output == "mu":
            g = ctx.course.reference.grad_mu(**at)  # (K, D), unconstrained: no projection
            lam_d = np.linalg.solve(Sigma[None], d[..., None])[..., 0]
            size = np.einsum("nk,nk->k", q, np.linalg.norm(lam_d, axis=-1))  # Σ_n q_nk ‖Λ_k d_nk‖
            ratio = np.linalg.norm(g, axis=-1) / np.maximum(size, 1e-300)
            what, fix = "∂Q/∂μ_k = Σ_n q_nk Λ_k (x_n − μ_k)", "μ_k must be the q-weighted mean Σ_n q_nk x_n / N_k"
        else:
            g = _sym(ctx.course.reference.grad_precision(**at))  # projected on symmetric Λ
            N_k = q.sum(axis=0)
            size = 0.5 * (N_k * np.linalg.norm(Sigma, axis=(1, 2)) + np.einsum("nk,nk->k", q, np.sum(d * d, axis=-1)))
            ratio = np.linalg.norm(g, axis=(1, 2)) / np.maximum(size, 1e-300)
            what = "∂Q/∂Λ_k = ½ Σ_n q_nk (Σ_k − d_nk d_nkᵀ)"
            fix = "Σ_k must be the q-weighted covariance of the points around your own μ_k"
        if not np.all(np.isfinite(ratio)):
            k = int(np.argmin(np.isfinite(ratio)))
            return _fail(ctx, case, args, dims, output, got[output], float("inf"),
                         f"{what} is not finite for component {k} at your (μ, Σ) on {where} (overflow)")
        k = int(np.argmax(ratio))
        err = float(ratio[k])
        if err <= tol:
            return CaseResult(case, True, err)
        return _fail(
            ctx, case, args, dims, output, got[output], err,
            f"{what} is not zero at your (μ, Σ) on {where}: for component {k} its norm is {err:.2g} of the size of "
            f"its terms (at most {tol:g} allowed); {fix}",
        )

    name = "∂Q/∂μ_k = 0" if output == "mu" else "∂Q/∂Λ_k = 0"
    return _m_step_cases(check, ctx, ("mu", "Sigma"), judge, f"{name} at the returned parameters")


@quiet
def m_step_stationary_mu(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """∂Q/∂μ_k = 0 at the returned (μ, Σ)."""
    return _stationary(check, ctx, "mu")


@quiet
def m_step_stationary_precision(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """∂Q/∂Λ_k = 0 (on symmetric matrices) at the returned (μ, Σ)."""
    return _stationary(check, ctx, "Sigma")


@quiet
def m_step_no_ascent(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """No small random feasible step increases Q: π moves within Σ_k π_k = const and stays
    positive, μ moves freely, Λ_k moves along symmetric directions and stays positive definite."""
    n = int(check.params.get("directions", 8))

    def judge(case, args, dims, got):
        X, q = args["X"], args["q"]
        pi, mu, Sigma = got["pi"], got["mu"], got["Sigma"]
        where = case_label(ctx, case, args)
        why = _spd(Sigma) or ("" if np.all(pi > 0) else "some π_k is not positive")
        if why:
            output = "Sigma" if why.startswith("Σ") else "pi"
            return _fail(ctx, case, args, dims, output, got[output], float("inf"), f"Q cannot be evaluated on {where}: {why}")
        lam = _sym(np.linalg.inv(Sigma))
        K, D = mu.shape
        q0 = _q_value(X, q, mu, lam, pi)
        if not np.isfinite(q0):
            return _fail(ctx, case, args, dims, "Sigma", Sigma, float("inf"), f"Q is not finite at your (π, μ, Σ) on {where}")
        d = X[:, None, :] - mu[None, :, :]
        sizes = (
            np.abs(np.log(pi))[None, :] + 0.5 * np.abs(np.linalg.slogdet(lam)[1])[None, :]
            + 0.5 * np.einsum("nki,kij,nkj->nk", d, lam, d) + 0.5 * D * LOG_2PI
        )
        scale = float(np.sum(q * sizes))
        rng = ctx.rng(check.id, case)
        sigma = float(np.sqrt(np.mean(np.trace(Sigma, axis1=1, axis2=2)) / D))
        lam_min = np.linalg.eigvalsh(lam)[:, 0]
        worst = (0.0, "", "")
        for _ in range(n):
            steps = []
            if K > 1:
                v = rng.standard_normal(K)
                v -= v.mean()
                steps.append(("π", "pi", lambda s, v=v: _q_value(X, q, mu, lam, pi + s * STEP * pi.min() * v / np.abs(v).max())))
            v = rng.standard_normal((K, D))
            steps.append(("μ", "mu", lambda s, v=v: _q_value(X, q, mu + s * STEP * sigma * v, lam, pi)))
            V = _sym(rng.standard_normal((K, D, D)))
            V /= np.linalg.norm(V, ord=2, axis=(1, 2))[:, None, None]
            steps.append(("Λ", "Sigma", lambda s, V=V: _q_value(X, q, mu, lam + s * STEP * lam_min[:, None, None] * V, pi)))
            for block, output, move in steps:
                for s in (1.0, -1.0):
                    rise = (move(s) - q0) / scale
                    rise = rise if np.isfinite(rise) else float("inf")  # a NaN must not pass
                    if rise > worst[0]:
                        worst = (rise, block, output)
        if worst[0] <= ASCENT_SLACK:
            return CaseResult(case, True, max(worst[0], 0.0))
        rise, block, output = worst
        return _fail(
            ctx, case, args, dims, output, got[output], rise,
            f"a small feasible step of {block} from your (π, μ, Σ) increases Q by {rise:.2g} of its size on {where}: "
            f"the returned parameters are not the maximum of Q for this q",
        )

    return _m_step_cases(check, ctx, ("pi", "mu", "Sigma"), judge, "no random feasible step of π, μ or Λ increases Q")


# ------------------------------------------------------------------ EM with the student's e_step and m_step
def em_problem(seed: int = 11) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A fixed data set (90 points of three elongated 2-D clusters) and a fixed start:
    equal weights, three means off the clusters' centres, every Σ_k the data's covariance.
    No point is far from the start, so a naive (non-log-sum-exp) e_step works here."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-3.0, 0.0], [3.0, 2.0], [1.0, -4.0]])
    X = []
    for c in centres:
        q_, _ = np.linalg.qr(rng.standard_normal((2, 2)))
        cov = q_ @ np.diag(rng.uniform(0.3, 1.5, 2)) @ q_.T
        X.append(rng.multivariate_normal(c, cov, 30))
    X = np.concatenate(X)[rng.permutation(90)]
    pi0 = np.full(3, 1.0 / 3.0)
    mu0 = centres + np.array([[1.0, 1.0], [-1.0, 0.5], [0.5, 1.5]])
    Sigma0 = np.repeat(np.cov(X.T)[None], 3, axis=0)
    return X, (pi0, mu0, Sigma0)


EM_LL_DROP = 1e-9  # relative: EM never lowers ℓ; float rounding of ℓ is ~1e-15
EM_LL_RTOL = 1e-6  # relative distance of the final ℓ from the reference's
EM_PARAM_RTOL = 1e-4  # relative Frobenius distance of the final π, μ, Σ


class _Run:
    """One EM run: the log-likelihoods, the final parameters, or why it stopped."""

    def __init__(self) -> None:
        self.ll: list[float] = []
        self.params: tuple[np.ndarray, ...] = ()
        self.failure: Failure | None = None
        self.problem = ""


@quiet
def em_iterations(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """EM with the student's e_step and m_step from a fixed start: ℓ never decreases and
    ends at the reference's fit. On failure, the function that breaks EM is named by
    rerunning with the reference's e_step (or m_step) in place of the student's."""
    steps = int(check.params.get("iterations", 5))
    X, start = em_problem()
    N, D = X.shape
    K = start[0].shape[0]
    dims = {"N": N, "D": D, "K": K}
    # The reference is called directly on values the student produced, not through
    # ctx.reference, whose cache is shared by the whole class and would only grow.
    course = ctx.course.reference

    def ll(params) -> float:
        return float(course.log_likelihood(X, *params))

    def e_student(params):
        out = ctx.student("e_step", {"X": X, "pi": params[0], "mu": params[1], "Sigma": params[2]}, dims)
        return out if isinstance(out, Failure) else out["q"]

    def e_reference(params):
        return np.asarray(course.e_step(X, *params), dtype=np.float64)

    def m_student(q):
        out = ctx.student("m_step", {"X": X, "q": q}, dims)
        return out if isinstance(out, Failure) else (out["pi"], out["mu"], out["Sigma"])

    def m_reference(q):
        return tuple(np.asarray(p, dtype=np.float64) for p in course.m_step(X, q))

    def run(e, m) -> _Run:
        r = _Run()
        params = start
        r.ll.append(ll(params))
        for t in range(1, steps + 1):
            q = e(params)
            if isinstance(q, Failure):
                r.failure, r.problem = q, f"iteration {t}: {q.message}"
                return r
            if not np.all(np.isfinite(q)):
                r.failure = Failure(("nan-output",), "")
                r.problem = f"iteration {t}: e_step returned NaN/inf responsibilities"
                return r
            new = m(q)
            if isinstance(new, Failure):
                r.failure, r.problem = new, f"iteration {t}: {new.message}"
                return r
            why = "" if all(np.all(np.isfinite(p)) for p in new) else "NaN/inf parameters"
            why = why or _spd(new[2]) or ("" if np.all(new[0] > 0) else "a mixing weight π_k ≤ 0")
            if why:
                r.problem = f"iteration {t}: m_step returned invalid parameters ({why})"
                return r
            params = new
            r.ll.append(ll(params))
            if not np.isfinite(r.ll[-1]):
                r.problem = f"iteration {t}: the log-likelihood of the parameters returned by m_step is not finite"
                return r
        r.params = params
        return r

    def verdict(r: _Run, ref: _Run) -> str:
        """'' when the run is a correct EM run, else what went wrong."""
        if r.problem:
            return r.problem
        for t in range(1, len(r.ll)):
            if r.ll[t] < r.ll[t - 1] - EM_LL_DROP * abs(r.ll[t - 1]):
                return f"the log-likelihood went down at iteration {t}: {r.ll[t - 1]:.6g} → {r.ll[t]:.6g}"
        off = abs(r.ll[-1] - ref.ll[-1]) > EM_LL_RTOL * abs(ref.ll[-1]) or any(
            rel_error(p, p_ref) > EM_PARAM_RTOL for p, p_ref in zip(r.params, ref.params, strict=True)
        )
        if off:
            return (
                f"after {steps} iterations the log-likelihood is {r.ll[-1]:.6g} where the reference's EM reaches "
                f"{ref.ll[-1]:.6g} (from {ref.ll[0]:.6g})"
            )
        return ""

    setting = f"{steps} EM iterations on {N} points (D = {D}, K = {K}) from a fixed start"
    ref = run(e_reference, m_reference)
    both = run(e_student, m_student)
    problem = verdict(both, ref)
    if not problem:
        trace = " → ".join(f"{v:.5g}" for v in both.ll)
        return CheckResult(check.id, check.function, check.kind, True, 1.0,
                           f"{setting}: the log-likelihood rises {trace}, as the reference's", ())
    blamed = [
        name for name, r in (("e_step", run(e_student, m_reference)), ("m_step", run(e_reference, m_student)))
        if verdict(r, ref)
    ] or [check.function]
    function = blamed[0]
    if len(blamed) == 2:
        why = "EM also fails with the course's m_step in place of yours, and with the course's e_step in place of yours"
    else:
        other = "m_step" if function == "e_step" else "e_step"
        why = f"with the course's {function} in place of yours EM works, so your {function} is what breaks it (your {other} is fine)"
    message = f"{setting} with your e_step and m_step: {problem}; {why}"
    # Name the mistake from the blamed function's output on the first iteration's inputs.
    failure = both.failure
    finding: Finding | None = None
    mistakes: tuple[str, ...] = ()
    if failure is not None and failure.message:  # a call raised, timed out, or had the wrong shape
        mistakes = failure.mistakes
    elif function == "e_step":
        args = {"X": X, "pi": start[0], "mu": start[1], "Sigma": start[2]}
        got = ctx.student("e_step", args, dims)
        if isinstance(got, Failure):
            mistakes = got.mistakes
        else:
            finding = diagnose(ctx, "e_step", "q", got["q"], ctx.reference("e_step", args)["q"], args, dims)
    else:
        args = {"X": X, "q": e_reference(start)}
        got = ctx.student("m_step", args, dims)
        if isinstance(got, Failure):
            mistakes = got.mistakes
        else:
            ref_out = ctx.reference("m_step", args)
            for output in ("pi", "mu", "Sigma"):
                if rel_error(got[output], ref_out[output]) > ctx.assignment.rtol:
                    finding = diagnose(ctx, "m_step", output, got[output], ref_out[output], args, dims)
                    if finding is not None and finding.mistake:
                        break
    if finding is not None and finding.mistake:
        mistakes = (finding.mistake,)
        message += f" ({finding.summary})" if finding.summary else ""
    elif not mistakes and failure is not None:
        mistakes = failure.mistakes  # NaN responsibilities that no variant explains
    return CheckResult(check.id, function, check.kind, False, 0.0, message, mistakes, (), finding)
