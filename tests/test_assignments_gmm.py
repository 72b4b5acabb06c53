"""The gmm assignment (docs/assignments.md): its sample class gets the verdicts of EXPECTED.toml,
the reference gets full marks, every check separates some sample from another, and
the inputs are the ones that make the classic mistakes visible.

Self-contained (no conftest fixtures): the class and the reference are graded once per
module through the Python API, as ``gradgrader grade`` does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import expect_verdict

from gradgrader.assignment import load_assignment
from gradgrader.cases import case_inputs
from gradgrader.grading import Grader
from gradgrader.ingest import discover, single
from gradgrader.results import Result
from gradgrader.rubric import Rubric, resolve_rubric
from gradgrader.spec import Assignment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
GMM = ROOT / "assignments" / "gmm"
SAMPLES = GMM / "samples"
RUBRIC = ROOT / "rubrics" / "gmm.toml"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((SAMPLES / "EXPECTED.toml").read_text(encoding="utf-8"))
SAMPLE_IDS = sorted(EXPECTED)
REFERENCE_ID = "reference"

# The GMM mistake ids of docs/mistakes.md; the sample class exhibits every one of them.
GMM_MISTAKES = {
    "inverse-not-transposed",
    "missing-half",
    "covariance-precision-confusion",
    "pi-not-normalized",
    "normalized-wrong-axis",
    "unstable-logsumexp",
    "symmetric-gradient-convention",
    "covariance-uses-wrong-mean",
    "gradient-wrt-wrong-variable",
    "sign-flipped",
}


@pytest.fixture(scope="module")
def gmm() -> Assignment:
    return load_assignment(GMM)


@pytest.fixture(scope="module")
def rubric(gmm: Assignment) -> Rubric:
    return resolve_rubric(gmm, RUBRIC)


@pytest.fixture(scope="module")
def graded(gmm: Assignment, rubric: Rubric) -> dict[str, Result]:
    """Every sample and the reference, graded once."""
    submissions = discover(SAMPLES, gmm.filename)
    reference = single(GMM / "reference.py", gmm.filename)
    assert reference.id == REFERENCE_ID and REFERENCE_ID not in EXPECTED
    with Grader(gmm, rubric, jobs=min(4, os.cpu_count() or 1)) as grader:
        return {r.submission: r for r in grader.grade_all([*submissions, reference])}


def failing(result: Result) -> dict[str, tuple[str, ...]]:
    """check id -> its mistake ids, for every failing check (shown when a test fails)."""
    return {c.id: c.mistakes for c in result.checks if not c.passed}


def check(result: Result, check_id: str):
    return next(c for c in result.checks if c.id == check_id)


# ----------------------------------------------------------------- EXPECTED.toml


def test_expected_toml_lists_every_sample(gmm):
    assert {s.id for s in discover(SAMPLES, gmm.filename)} == set(EXPECTED)


@pytest.mark.parametrize("sample", SAMPLE_IDS)
def test_sample_has_expected_status(graded, sample):
    assert graded[sample].status == EXPECTED[sample]["status"], graded[sample].message


@pytest.mark.parametrize("sample", SAMPLE_IDS)
def test_sample_gets_full_marks_only_when_expected(graded, sample):
    expect_verdict(graded[sample], EXPECTED[sample], "full_marks")


@pytest.mark.parametrize("sample", SAMPLE_IDS)
def test_sample_fails_checks_of_exactly_the_expected_functions(graded, sample):
    expect_verdict(graded[sample], EXPECTED[sample], "failing_functions")


@pytest.mark.parametrize("sample", SAMPLE_IDS)
def test_sample_reports_exactly_the_expected_mistakes(graded, sample):
    expect_verdict(graded[sample], EXPECTED[sample], "mistakes")


@pytest.mark.parametrize("sample", SAMPLE_IDS)
def test_sample_gets_exactly_the_expected_advice(graded, sample):
    """Advice (never scored) comes from exactly the expected checks, and costs nothing."""
    expect_verdict(graded[sample], EXPECTED[sample], "advice")


@pytest.mark.parametrize("sample", [s for s in SAMPLE_IDS if "score" in EXPECTED[s] or "unpaid" in EXPECTED[s]])
def test_placeholders_and_answers_that_ignore_their_input_earn_nothing(graded, sample):
    expect_verdict(graded[sample], EXPECTED[sample], "earns_nothing")


@pytest.mark.parametrize("sample", SAMPLE_IDS)
def test_failing_checks_cost_points_and_passing_ones_do_not(graded, sample):
    result = graded[sample]
    assert result.score == pytest.approx(sum(c.score for c in result.checks))
    for c in result.checks:
        if c.passed:
            assert c.score == c.max_score and c.mistakes == (), c
        else:
            assert c.score < c.max_score and c.message, c


def test_samples_exhibit_every_gmm_mistake_of_the_spec():
    exhibited = {m for e in EXPECTED.values() for m in e["mistakes"]}
    assert exhibited >= GMM_MISTAKES


# ----------------------------------------------------------------- reference and checks


def test_reference_passes_all_of_its_own_checks(graded, gmm):
    result = graded[REFERENCE_ID]
    assert result.status == "graded"
    assert result.full_marks, failing(result)
    assert result.mistakes == ()
    assert {c.id for c in result.checks} == {c.id for c in gmm.checks}


def test_assignment_passes_its_own_validation(gmm):
    """`gradgrader grade` refuses an assignment that fails this: among others, no
    diagnosis variant may equal the reference on a case (D = 1 and K = 1 hide
    inverse-not-transposed, the symmetric convention and the wrong mean)."""
    from gradgrader.authoring import validate

    report = validate(gmm)
    assert report.ok, report.problems


def check_ids() -> list[str]:
    return [c.id for c in load_assignment(GMM).checks]


@pytest.mark.parametrize("check_id", check_ids())
def test_check_fails_on_some_sample_and_passes_on_another(graded, check_id):
    outcomes = {sample: check(graded[sample], check_id).passed for sample in SAMPLE_IDS}
    assert any(outcomes.values()), f"{check_id} passes on no sample"
    assert not all(outcomes.values()), f"{check_id} fails on no sample"


def test_rubric_gives_ten_points_to_every_check(gmm, rubric):
    assert set(rubric.items) == {c.id for c in gmm.checks}
    assert rubric.max_score == 10.0
    assert all(item.points > 0 for item in rubric.items.values())
    assert resolve_rubric(gmm).source == str(RUBRIC)  # found without naming it


def test_every_recognised_mistake_has_feedback(gmm):
    named = {m for e in EXPECTED.values() for m in e["mistakes"]}
    for config in gmm.diagnosis.values():
        named |= set(config.get("variants", {})) | set(config.get("scales", {}).values())
    named |= {str(c.params["mistake"]) for c in gmm.checks if "mistake" in c.params}
    assert named - set(gmm.feedback) == set()
    for mistake in GMM_MISTAKES:
        assert gmm.feedback[mistake].explanation and gmm.feedback[mistake].next_step, mistake


# ----------------------------------------------------------------- what the checks say


def test_precision_differences_tell_the_symmetric_convention_from_other_errors(graded):
    symmetric = check(graded["symmetric-gradient-convention"], "grad_precision.finite_differences")
    assert not symmetric.passed and symmetric.mistakes == ("symmetric-gradient-convention",)
    assert "agrees instead with the unique-entries convention" in symmetric.message
    assert symmetric.diagnosis and "explanation" in symmetric.diagnosis
    doubled = check(graded["missing-half"], "grad_precision.finite_differences")
    assert not doubled.passed and doubled.mistakes == ("missing-half",)
    assert "nor is it the unique-entries gradient" in doubled.message


def test_symmetric_convention_passes_where_it_coincides_with_the_answer(graded):
    value = check(graded["symmetric-gradient-convention"], "grad_precision.value")
    by_case = {c["case"]: c["passed"] for c in value.cases}
    assert by_case["one_feature"] and not by_case["small"]  # 2G − diag(G) = G when D = 1
    assert 0 < value.score < value.max_score


@pytest.mark.parametrize(
    ("sample", "blamed"),
    [
        ("normalized-wrong-axis", "e_step"),
        ("crash-in-call", "e_step"),
        ("pi-not-normalized", "m_step"),
        ("covariance-uses-wrong-mean", "m_step"),
    ],
)
def test_em_failure_is_reported_under_the_function_that_breaks_it(graded, sample, blamed):
    em = check(graded[sample], "em.iterations")
    assert not em.passed and em.function == blamed, em.message
    assert set(em.mistakes) == set(EXPECTED[sample]["mistakes"])


def test_m_step_conditions_name_the_mistake_without_the_closed_form(graded):
    wrong_mean = graded["covariance-uses-wrong-mean"]
    for check_id in ("m_step.stationary_precision", "m_step.no_ascent"):
        assert check(wrong_mean, check_id).mistakes == ("covariance-uses-wrong-mean",)
    assert check(wrong_mean, "m_step.stationary_mu").passed  # its μ is right
    simplex = check(graded["pi-not-normalized"], "m_step.simplex")
    assert simplex.mistakes == ("pi-not-normalized",) and "λ = −N" in simplex.message


# Submissions that implement m_step but break the conditions no sample breaks on its
# own (only `not-implemented` fails them): a mean moved off the weighted mean with Σ_k
# consistent around it, and covariances that are not positive definite.
M_STEP_PROBES = {
    "probe-mean-moved": """
def m_step(X, q):
    Nk = q.sum(axis=0)
    mu = (q.T @ X) / Nk[:, None] + 0.1
    diff = X[:, None, :] - mu[None, :, :]
    return Nk / X.shape[0], mu, np.einsum("nk,nki,nkj->kij", q, diff, diff) / Nk[:, None, None]
""",
    "probe-not-spd": """
_m_step = m_step
def m_step(X, q):
    pi, mu, Sigma = _m_step(X, q)
    return pi, mu, -Sigma
""",
}


@pytest.fixture(scope="module")
def probes(gmm, rubric, tmp_path_factory) -> dict[str, Result]:
    folder = tmp_path_factory.mktemp("gmm-probes")
    correct = (SAMPLES / "correct-vectorized" / "gmm.py").read_text(encoding="utf-8")
    for name, extra in M_STEP_PROBES.items():
        (folder / name).mkdir()
        (folder / name / "gmm.py").write_text(correct + extra, encoding="utf-8")
    with Grader(gmm, rubric, jobs=1) as grader:
        return {r.submission: r for r in grader.grade_all(discover(folder, gmm.filename))}


def test_m_step_conditions_fail_on_an_implemented_m_step(probes):
    moved = probes["probe-mean-moved"]
    assert {c.id for c in moved.checks if not c.passed} == {
        "m_step.mu", "m_step.Sigma", "m_step.stationary_mu", "m_step.no_ascent", "em.iterations",
    }, failing(moved)
    assert "μ_k must be the q-weighted mean" in check(moved, "m_step.stationary_mu").message
    not_spd = probes["probe-not-spd"]
    spd = check(not_spd, "m_step.spd")
    assert not spd.passed and "not positive definite" in spd.message
    assert spd.mistakes == ("sign-flipped",)  # -Σ is recognised as the negative of the answer
    assert {c.function for c in not_spd.checks if not c.passed} == {"m_step"}


# ----------------------------------------------------------------- inputs


def test_cases_keep_n_d_k_distinct_and_cover_d_1_and_k_1(gmm):
    for case in gmm.cases.values():
        n, d, k = case.dims["N"], case.dims["D"], case.dims["K"]
        assert n not in (d, k) and d != k, case.name
    assert any(c.dims["D"] == 1 for c in gmm.cases.values())
    assert any(c.dims["K"] == 1 for c in gmm.cases.values())


def test_inputs_expose_transposes_and_covariance_mixups(gmm):
    A = case_inputs(gmm, "grad_logdet", "small")["A"]
    assert np.linalg.norm(A - A.T) > 0.1 * np.linalg.norm(A)
    Sigma = case_inputs(gmm, "grad_mu", "medium")["Sigma"]
    for S in Sigma:
        eig = np.linalg.eigvalsh(S)
        assert eig[-1] / eig[0] > 1.05  # not a multiple of I
    x = case_inputs(gmm, "grad_quadform", "small")["x"]
    assert np.all(x != 0)


def test_far_case_underflows_a_naive_sum_of_densities(gmm):
    args = case_inputs(gmm, "log_likelihood", "far")
    X, pi, mu, Sigma = args["X"], args["pi"], args["mu"], args["Sigma"]
    d = X[:, None, :] - mu[None, :, :]
    maha = np.einsum("nki,kij,nkj->nk", d, np.linalg.inv(Sigma), d)
    assert np.sum(np.sqrt(maha.min(axis=1)) >= 50.0 - 1e-9) == 4
    dens = np.exp(-0.5 * maha) / np.sqrt(np.linalg.det(2 * np.pi * Sigma))
    with np.errstate(divide="ignore"):
        assert np.sum(np.log(dens @ pi)) == -np.inf
