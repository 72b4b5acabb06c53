"""The courses supported out of the box — Stanford CS231n's softmax classifier, MIT 6.86x's
EM (naive_em.py) and Stanford CS229's GMM (run_em) — grade their sample classes with the
verdicts of each EXPECTED.toml, and name the failures real homework hits.

Each class is graded once, as a TA would: ``gradgrader grade SAMPLES -a NAME -o OUT
--jobs 2``, side by side with ``gradgrader validate NAME`` and one ``gradgrader check``;
every test reads those results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradgrader.assignment import load_assignment
from gradgrader.ingest import discover

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
COURSES = ("cs231n-softmax", "mit686x-em", "cs229-gmm")
GRADGRADER = [sys.executable, "-m", "gradgrader"]


def samples(course: str) -> Path:
    return ROOT / "assignments" / course / "samples"


def expected(course: str) -> dict[str, dict[str, Any]]:
    return tomllib.loads((samples(course) / "EXPECTED.toml").read_text(encoding="utf-8"))


SAMPLES = [(course, sid) for course in COURSES for sid in sorted(expected(course))]


def _start(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*GRADGRADER, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """Every command this module needs, run once and side by side (most of their time is
    spent waiting on time limits): per course `gradgrader grade` of the sample class
    (two jobs) and `gradgrader validate`, and one `gradgrader check` of a file in the
    course's layout. Name -> (exit code, stdout + stderr, output folder)."""
    out = tmp_path_factory.mktemp("courses")
    layout = out / "student"
    layout.mkdir()
    (layout / "softmax.py").write_bytes((samples("cs231n-softmax") / "correct-2017" / "softmax.py").read_bytes())
    started = {"check": (_start("check", "softmax.py", "--assignment", "cs231n-softmax", "--json", cwd=layout), layout)}
    for course in COURSES:
        started[f"grade {course}"] = (
            _start("grade", str(samples(course)), "--assignment", course, "--out", str(out / course), "--jobs", "2", "--allow-weak-sandbox"),
            out / course,
        )
        started[f"validate {course}"] = (_start("validate", course), out)
    finished = {}
    for name, (proc, folder) in started.items():
        stdout, stderr = proc.communicate(timeout=300)
        finished[name] = (proc.returncode, stdout if name == "check" else stdout + stderr, folder)
    return finished


@pytest.fixture(scope="module")
def graded(runs: dict[str, tuple[int, str, Path]]) -> dict[str, dict[str, dict[str, Any]]]:
    """course -> submission id -> its result object (docs/result-schema.md), from `gradgrader grade`."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for course in COURSES:
        code, text, folder = runs[f"grade {course}"]
        assert code == 0, text
        lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
        results[course] = {r["submission"]: r for r in map(json.loads, lines)}
        assert len(results[course]) == len(lines)
        assert (folder / "grades.csv").is_file()
    return results


def check(result: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in result["checks"] if c["id"] == check_id)


def failing(result: dict[str, Any]) -> dict[str, list[str]]:
    return {c["id"]: c["mistakes"] for c in result["checks"] if not c["passed"]}


def cases(record: dict[str, Any]) -> dict[str, bool]:
    return {c["case"]: c["passed"] for c in record["cases"]}


# ----------------------------------------------------------------- the course material


@pytest.mark.parametrize("course", COURSES)
def test_the_assignment_validates(runs, course: str) -> None:
    # The reference (and, for CS231n, each convention's reference) gets full marks on
    # every check, and the diagnosis hooks agree with it.
    code, text, _ = runs[f"validate {course}"]
    assert code == 0 and f"✔ {course}:" in text, text


@pytest.mark.parametrize("course", COURSES)
def test_expected_toml_lists_every_sample(course: str) -> None:
    spec = load_assignment(course)
    assert {s.id for s in discover(samples(course), spec.filename)} == set(expected(course))


@pytest.mark.parametrize("course", COURSES)
def test_every_named_mistake_has_feedback(course: str) -> None:
    spec = load_assignment(course)
    named = {m for entry in expected(course).values() for m in entry["mistakes"]}
    assert named - set(spec.feedback) == set()


@pytest.mark.parametrize("course", COURSES)
def test_the_starter_sample_is_the_starter(course: str) -> None:
    spec = load_assignment(course)
    sample = samples(course) / "starter" / spec.filename
    assert sample.read_bytes() == (spec.root / "starter.py").read_bytes()


# ----------------------------------------------------------------- EXPECTED.toml


@pytest.mark.parametrize(("course", "sample"), SAMPLES)
def test_sample_gets_its_expected_verdict(graded, course: str, sample: str) -> None:
    want = expected(course)[sample]
    result = graded[course][sample]
    got = {
        "status": result["status"],
        "full_marks": result["score"] == result["max_score"],
        "failing_functions": sorted({c["function"] for c in result["checks"] if not c["passed"]}),
        "mistakes": sorted(result["mistakes"]),
    }
    assert got == {k: sorted(want[k]) if isinstance(want[k], list) else want[k] for k in got}, failing(result)
    if "convention" in want:
        assert result["convention"]["name"] == want["convention"] and result["convention"]["matched"]
    # Advice (never scored) is pinned as the softmax and gmm samples pin it: none unless listed.
    assert sorted(result.get("advice", [])) == sorted(want.get("advice", [])), failing(result)


@pytest.mark.parametrize(("course", "sample"), SAMPLES)
def test_every_check_names_its_function(graded, course: str, sample: str) -> None:
    spec = load_assignment(course)
    result = graded[course][sample]
    if result["status"] == "graded":
        assert [c["id"] for c in result["checks"]] == [c.id for c in spec.checks]
    for record in result["checks"]:
        assert record["function"] == spec.check(record["id"]).function
    assert set(result["mistakes"]) == {m for c in result["checks"] for m in c["mistakes"]}


# ----------------------------------------------------------------- the command line


def test_check_accepts_a_file_in_the_course_layout(runs) -> None:
    # `gradgrader check softmax.py --assignment cs231n-softmax` on the 2017 layout, which
    # imports xrange from past.builtins: full marks, exit 0.
    code, text, folder = runs["check"]
    assert (folder / "softmax.py").read_text(encoding="utf-8").startswith(
        "from builtins import range\nimport numpy as np\nfrom random import shuffle\nfrom past.builtins import xrange\n"
    )
    assert code == 0, text
    result = json.loads(text)
    assert result["status"] == "graded" and result["score"] == result["max_score"] == 10.0


def test_grade_finds_the_file_in_the_course_tree(graded) -> None:
    assert graded["cs231n-softmax"]["correct-2016"]["path"].endswith("correct-2016/cs231n/classifiers/softmax.py")
    assert graded["mit686x-em"]["correct-project-folder"]["path"].endswith("correct-project-folder/naive_em.py")
    assert graded["cs229-gmm"]["correct-2018"]["path"].endswith("correct-2018/p03_gmm.py")


# ----------------------------------------------------------------- CS231n: conventions


def test_both_regularisation_conventions_get_full_marks(graded) -> None:
    year = {sid: graded["cs231n-softmax"][sid]["convention"]["name"] for sid in ("correct-2017", "correct-2016")}
    assert year == {"correct-2017": "full", "correct-2016": "half"}


def test_a_gradient_of_one_convention_with_the_loss_of_the_other_is_a_mismatch(graded) -> None:
    result = graded["cs231n-softmax"]["loss-gradient-mismatch"]
    assert result["convention"]["name"] == "half"  # its dW is reg·W
    for fn in ("softmax_loss_naive", "softmax_loss_vectorized"):
        consistency = check(result, f"{fn}.self_consistency")
        assert consistency["mistakes"] == ["loss-gradient-mismatch"]
        assert "dW matches the reference, so loss is computed differently" in consistency["message"]
        assert check(result, f"{fn}.gradient")["passed"]


def test_a_crashing_naive_version_does_not_fail_a_correct_vectorised_one(graded) -> None:
    # Issue 15.2: the naive version raises NameError (xrange); the vectorised one follows
    # the 2016 convention (½·reg·ΣW²). Before, the convention came from the naive version
    # alone (none matched: the first, reg·ΣW²) and the vectorised loss and dW failed.
    result = graded["cs231n-softmax"]["xrange-naive-half-vectorized"]
    assert result["convention"]["functions"] == {"softmax_loss_naive": "half", "softmax_loss_vectorized": "half"}
    assert all(c["passed"] for c in result["checks"] if c["function"] == "softmax_loss_vectorized")


def test_a_wrong_naive_version_is_graded_in_the_vectorised_ones_convention(graded) -> None:
    result = graded["cs231n-softmax"]["naive-wrong-half-vectorized"]
    assert result["convention"]["functions"] == {"softmax_loss_naive": "half", "softmax_loss_vectorized": "half"}
    assert all(c["passed"] for c in result["checks"] if c["function"] == "softmax_loss_vectorized")
    assert check(result, "softmax_loss_naive.gradient")["mistakes"] == ["missing-normalization"]


def test_two_functions_in_different_conventions_both_pass_with_a_note(graded) -> None:
    result = graded["cs231n-softmax"]["mixed-conventions"]
    assert result["score"] == result["max_score"]
    assert result["convention"]["functions"] == {"softmax_loss_naive": "full", "softmax_loss_vectorized": "half"}
    note = "Note: softmax_loss_naive follows reg·Σ W², gradient 2·reg·W (the course from 2017); softmax_loss_vectorized follows ½·reg·Σ W²"
    assert result["convention"]["note"].startswith(note)
    assert note in check(result, "softmax_loss_vectorized.loss")["message"]
    # a file whose two functions agree gets no note
    assert "note" not in graded["cs231n-softmax"]["correct-2016"]["convention"]


# ----------------------------------------------------------------- real failure modes


def test_a_python2_print_statement_says_so_and_where(graded) -> None:
    result = graded["cs231n-softmax"]["python2-print"]
    assert result["status"] == "error" and result["score"] == 0
    assert result["message"].startswith("softmax.py has a syntax error on line 28: print 'loss before averaging:', loss")
    assert "this file was written for Python 2: print is a function in Python 3" in result["message"]


def test_xrange_without_its_import_says_python2_and_where(graded) -> None:
    record = check(graded["cs231n-softmax"]["xrange-without-import"], "softmax_loss_naive.loss")
    assert record["mistakes"] == ["crashed"]
    assert record["message"].startswith(
        "softmax_loss_naive raised NameError: name 'xrange' is not defined (line 15: for i in xrange(num_train):) "
        "— this file was written for Python 2: xrange is range in Python 3"
    )
    # the vectorised version of the same file is graded on its own
    assert all(c["passed"] for c in graded["cs231n-softmax"]["xrange-without-import"]["checks"] if c["function"] == "softmax_loss_vectorized")


@pytest.mark.parametrize(("course", "sample", "check_id", "name"), [
    ("mit686x-em", "numpy-removed-names", "estep.post", "float"),
    ("cs229-gmm", "numpy-removed-names", "run_em.w", "int"),
])
def test_numpy_names_removed_in_numpy_2_are_explained(graded, course: str, sample: str, check_id: str, name: str) -> None:
    record = check(graded[course][sample], check_id)
    assert record["mistakes"] == ["crashed"]
    assert f"raised AttributeError: module 'numpy' has no attribute '{name}'" in record["message"]
    assert "np.float, np.int, np.bool and friends were removed in numpy 1.24 (and numpy 2)" in record["message"]


def test_a_leftover_pdb_set_trace_is_named(graded) -> None:
    record = check(graded["cs231n-softmax"]["pdb-leftover"], "softmax_loss_vectorized.loss")
    assert record["mistakes"] == ["crashed"]
    assert "raised BdbQuit" in record["message"]
    assert "a leftover pdb.set_trace() or breakpoint(): remove it before submitting" in record["message"]


def test_a_leftover_input_is_named(graded) -> None:
    record = check(graded["mit686x-em"]["input-leftover"], "mstep.mu")
    assert record["mistakes"] == ["crashed"]
    assert "raised EOFError: EOF when reading a line (line 25: input(" in record["message"]
    assert "the code calls input(): the grader gives no keyboard input, so remove it" in record["message"]


def test_printing_hundreds_of_kilobytes_is_kept_truncated_and_not_scored(graded) -> None:
    result = graded["cs231n-softmax"]["prints-a-lot"]
    assert result["score"] == result["max_score"]
    assert "example 0: label" in result["output"]
    assert len(result["output"]) < 66 * 1024
    assert result["output"].rstrip().endswith("more bytes of output not kept]")


def test_mutating_the_callers_w_harms_no_other_check(graded) -> None:
    result = graded["cs231n-softmax"]["mutates-W"]
    assert result["score"] == result["max_score"] and result["mistakes"] == []


def test_no_max_subtraction_loses_only_the_stability_items(graded) -> None:
    result = graded["cs231n-softmax"]["unstable-softmax"]
    assert failing(result) == {
        "softmax_loss_naive.stable": ["unstable-softmax"],
        "softmax_loss_vectorized.stable": ["unstable-softmax"],
    }


def test_clipping_the_scores_is_named_by_the_stability_check(graded) -> None:
    result = graded["cs231n-softmax"]["clipped-scores"]
    assert list(failing(result)) == ["softmax_loss_vectorized.stable"]
    record = check(result, "softmax_loss_vectorized.stable")
    assert record["mistakes"] == ["unstable-softmax"]
    assert "on case 'shifted_up' (N=8, D=5, C=4, reg=0) — every score shifted by +1000" in record["message"]
    assert "right on ordinary inputs but wrong on extreme ones" in record["message"]


def test_operator_precedence_in_the_gradient_is_named(graded) -> None:
    record = check(graded["cs231n-softmax"]["operator-precedence"], "softmax_loss_vectorized.gradient")
    assert record["mistakes"] == ["operator-precedence"]
    assert record["diagnosis"]["title"] == "dW /= N + 2·reg·W divides by the penalty"
    assert cases(record)["no_reg"]  # right when reg = 0, as the feedback says


def test_a_hard_coded_size_is_right_only_at_that_size(graded) -> None:
    cs231n = check(graded["cs231n-softmax"]["hard-coded-size"], "softmax_loss_vectorized.loss")
    assert cases(cs231n) == {"small": False, "medium": False, "hidden": False, "no_reg": False, "edge": False, "course": True}
    # Named in words, as the README says: 500 is N of the 'course' case, quoted by the error.
    assert "500 is N of case 'course', not of this case (N = 7)" in cs231n["message"]
    assert "num_train = 500" in cs231n["message"]
    mit = check(graded["mit686x-em"]["hard-coded-n"], "estep.post")
    assert cases(mit) == {"toy": True, "small": False, "medium": False, "hidden": False, "one_component": False}
    assert "raised IndexError: index 12 is out of bounds for axis 0 with size 12" in mit["message"]


def test_a_numerical_gradient_loses_the_gradient_items_on_any_machine(graded) -> None:
    # dW by central differences of the student's own loss (h = 1e-5, as in the notebook):
    # right to ~1e-10 on ordinary inputs and fast, so nothing depends on a time limit;
    # the case 'steep' (features of size 1e6) tells it from the analytic gradient.
    result = graded["cs231n-softmax"]["numerical-gradient"]
    record = check(result, "softmax_loss_naive.gradient")
    assert record["mistakes"] == ["numerical-gradient"] and record["score"] == 0  # rubric: zero_for
    assert {c: ok for c, ok in cases(record).items() if not ok} == {"steep": False}
    assert "dW is a numerical gradient, not the analytic one" in record["message"]
    # its loss is right and its dW agrees with it: those items still count
    for item in ("loss", "self_consistency", "stable"):
        assert check(result, f"softmax_loss_naive.{item}")["passed"], item
    assert all(c["passed"] for c in result["checks"] if c["function"] == "softmax_loss_vectorized")


def test_no_correct_gradient_fails_the_steep_case(graded) -> None:
    for sid in ("correct-2017", "correct-2016", "correct-triple-loop", "mixed-conventions"):
        for fn in ("softmax_loss_naive", "softmax_loss_vectorized"):
            assert cases(check(graded["cs231n-softmax"][sid], f"{fn}.gradient"))["steep"], (sid, fn)


def test_a_sample_that_times_out_never_finishes() -> None:
    # A verdict of "timeout" must hold on a machine of any speed: every sample expected
    # to time out has a loop that never ends (here: the starter's `while ...: pass`),
    # not merely a slow one.
    for course in COURSES:
        for sid, want in expected(course).items():
            if "timeout" in want["mistakes"]:
                source = "\n".join(p.read_text(encoding="utf-8") for p in (samples(course) / sid).rglob("*.py"))
                assert "pass  # " in source or "while True" in source, (course, sid)


def test_the_correct_triple_loop_passes_at_the_graded_sizes(graded) -> None:
    result = graded["cs231n-softmax"]["correct-triple-loop"]
    assert result["score"] == result["max_score"]


def test_the_cs231n_starter_earns_nothing(graded) -> None:
    # loss = 0.0 with dW = 0 is trivially self-consistent; it still earns no point
    result = graded["cs231n-softmax"]["starter"]
    assert result["score"] == 0
    assert "nothing is computed yet (the starter's placeholder?)" in check(result, "softmax_loss_naive.self_consistency")["message"]


def test_the_cs229_starter_never_ends_and_says_so(graded) -> None:
    record = check(graded["cs229-gmm"]["starter"], "run_em.w")
    from gradgrader.checks.base import (
        CALL_FLOOR_S,  # the limit of a call whose reference is fast (issue 17)
    )

    assert record["message"].startswith(f"run_em did not finish within {CALL_FLOOR_S:.3g} s (wall clock); stopped on case 'course' (n=100, d=2, K=4)")
    assert record["diagnosis"]["title"] == "Too slow, or the loop never ends"


def test_the_covariance_around_the_old_mean_is_named(graded) -> None:
    result = graded["cs229-gmm"]["covariance-uses-wrong-mean"]
    record = check(result, "run_em.m_step")
    assert record["mistakes"] == ["covariance-uses-wrong-mean"]
    assert record["diagnosis"]["title"] == "The covariance is taken around the previous mean"
    assert check(result, "run_em.e_step")["passed"]  # one pass: the E step is right


# ----------------------------------------------------------------- CS229: the steps inside run_em's loop


def test_right_steps_in_a_loop_that_stops_early_keep_their_points(graded) -> None:
    # Issue 15.7: before, 0 + rows (1.5) with no mistake named.
    result = graded["cs229-gmm"]["loop-stops-after-one-pass"]
    assert check(result, "run_em.e_step")["passed"] and check(result, "run_em.m_step")["passed"]
    assert result["score"] == 4.0  # e_step 1.25 + m_step 1.25 + rows 1.5
    loop = check(result, "run_em.loop")
    assert loop["mistakes"] == ["loop-stops-early"]
    assert "your loop stops after 1 pass on case 'course'" in loop["message"]
    assert "EM from this start needs 29" in loop["message"]
    assert "is prev_ll set to ll before the two are compared" in loop["message"]


def test_a_for_loop_that_breaks_early_is_named_with_its_number_of_passes(graded) -> None:
    loop = check(graded["cs229-gmm"]["loop-threshold-too-large"], "run_em.loop")
    assert loop["mistakes"] == ["loop-stops-early"]
    assert "your loop stops after 7 passes on case 'course'" in loop["message"]


def test_a_wrong_e_step_in_a_right_loop_fails_the_e_step_not_the_m_step(graded) -> None:
    result = graded["cs229-gmm"]["e-step-without-phi"]
    e_step, m_step = check(result, "run_em.e_step"), check(result, "run_em.m_step")
    assert cases(e_step) == {"course": True, "small": True, "three_d": False, "hidden": False}  # far clusters: phi is moot
    assert "differs from the reference's E step on case 'three_d'" in e_step["message"]
    assert "your M step is not judged" in m_step["message"] and m_step["mistakes"] == []
    assert result["mistakes"] == []  # no whole-run variant names a mistake it did not make


def test_right_runs_pass_the_step_checks(graded) -> None:
    for sid in ("correct-2018", "correct-vectorized", "ll-from-e-step"):
        result = graded["cs229-gmm"][sid]
        assert all(check(result, f"run_em.{c}")["passed"] for c in ("e_step", "m_step", "loop")), sid


def test_a_determinant_not_square_rooted_is_named(graded) -> None:
    # named from one E step (run_em.e_step), not from the whole run (two wrong runs can
    # end at the same w: see e-step-without-phi)
    result = graded["cs229-gmm"]["density-missing-sqrt"]
    record = check(result, "run_em.e_step")
    assert record["mistakes"] == ["density-missing-sqrt"]
    assert check(result, "run_em.w")["mistakes"] == []
    assert record["diagnosis"]["title"] == "The determinant in the Gaussian density is not square-rooted"
    # and without any reference: EM on the true likelihood is not converged at its w
    assert "EM has not converged at your w" in check(result, "run_em.likelihood")["message"]


def test_em_with_the_loglikelihood_taken_in_the_e_step_is_within_tolerance(graded) -> None:
    # It stops one iteration later than the course's order; rtol 1e-3 is 20× its distance.
    record = check(graded["cs229-gmm"]["ll-from-e-step"], "run_em.w")
    assert record["passed"] and 0 < max(c["error"] for c in record["cases"]) <= 5e-5


def test_mstep_may_return_a_plain_tuple(graded) -> None:
    result = graded["mit686x-em"]["mstep-returns-tuple"]
    assert result["score"] == result["max_score"]


def test_mit_mistakes_of_the_m_step_are_named_by_their_factor(graded) -> None:
    var = check(graded["mit686x-em"]["variance-missing-d"], "mstep.var")
    assert var["mistakes"] == ["variance-missing-d"] and "var is exactly d × the correct value (d = 2 here)" in var["message"]
    p = check(graded["mit686x-em"]["pi-not-normalized"], "mstep.p")
    assert p["mistakes"] == ["pi-not-normalized"] and "p is exactly n × the correct value (n = 250 here)" in p["message"]


# ----------------------------------------------------------------- docs


def test_docs_give_the_command_for_each_course() -> None:
    text = (ROOT / "docs" / "courses.md").read_text(encoding="utf-8")
    assert text.startswith("# Courses supported out of the box")
    for course in COURSES:
        assert f"--assignment {course}" in text


def test_two_courses_with_their_own_common_py_do_not_share_it(tmp_path: Path) -> None:
    """One grader process (a Dask worker, the test suite) may load two courses that both
    ship a ``common.py``: each reference gets its own, and the object arguments built for
    the reference are instances of that same class."""
    import shutil

    from gradgrader.cases import Composite
    from gradgrader.course import materialise, reference_module

    refs = {}
    for course in ("A", "B"):
        root = tmp_path / course
        shutil.copytree(ROOT / "assignments" / "mit686x-em", root, ignore=shutil.ignore_patterns("samples"))
        common = root / "common.py"
        common.write_text(common.read_text() + f"\nCOURSE = {course!r}\n")
        refs[course] = (load_assignment(root), reference_module(load_assignment(root)))
    before = sys.modules.get("common")
    for course, (assignment, ref) in refs.items():
        assert vars(sys.modules[ref.GaussianMixture.__module__])["COURSE"] == course
        fields = {"mu": np.zeros((2, 3)), "var": np.ones(2), "p": np.full(2, 0.5)}
        built = materialise(assignment, Composite("common:GaussianMixture", fields))
        assert type(built) is ref.GaussianMixture
    assert sys.modules.get("common") is before  # nothing left behind under the plain name


# ----------------------------------------------------------------- CS229: _em_passes (in process)


def _em_passes():
    import importlib.util

    path = ROOT / "assignments" / "cs229-gmm" / "_em_passes.py"
    spec = importlib.util.spec_from_file_location("_em_passes_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _loops(source: str, tmp_path: Path) -> Any:
    """A module from ``source`` in a real file (the helper reads the function's source)."""
    import importlib.util

    path = tmp_path / "student_loops.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("student_loops", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOOPS = '''
def counted(x, w, phi, mu, sigma):
    trail = []
    it = 0
    while it < 50:
        for j in range(3):          # the body starts with a loop of its own
            pass
        trail.append(it)
        it += 1
    return trail


def stops_at_once(x, w, phi, mu, sigma):
    trail = []
    ll = prev_ll = None
    while prev_ll is None or abs(ll - prev_ll) >= 1e-3:
        trail.append(len(trail))
        ll = 1.0
        prev_ll = ll                # the bug: equal before the test
    return trail


def for_that_breaks(x, w, phi, mu, sigma):
    trail = []
    for it in range(50):
        trail.append(it)
        break
    return trail


def crashes(x, w, phi, mu, sigma):
    it = 0
    while it < 50:
        it += 1
        raise KeyError("student's own")
    return it


def no_loop(x, w, phi, mu, sigma):
    return [w]
'''


@pytest.mark.parametrize("passes", [1, 2, 3])
def test_the_loop_runs_exactly_the_capped_number_of_passes(tmp_path: Path, passes: int) -> None:
    em, student = _em_passes(), _loops(LOOPS, tmp_path)
    assert student.counted(0, 0, 0, 0, em.capped(0, passes)) == list(range(passes))
    assert sys.gettrace() is None  # the trace ends with the call


def test_a_while_loop_that_stops_early_is_run_on_as_patched_by_hand(tmp_path: Path) -> None:
    em, student = _em_passes(), _loops(LOOPS, tmp_path)
    assert student.stops_at_once(0, 0, 0, 0, 0) == [0]
    assert student.stops_at_once(0, 0, 0, 0, em.capped(0, 2)) == [0, 1]
    assert sys.gettrace() is None


def test_what_cannot_be_capped_says_why(tmp_path: Path) -> None:
    em, student = _em_passes(), _loops(LOOPS, tmp_path)
    with pytest.raises(em.LoopNotCapped, match="the for loop of for_that_breaks ended after 1 pass"):
        student.for_that_breaks(0, 0, 0, 0, em.capped(0, 2))
    with pytest.raises(em.LoopNotCapped, match="no_loop has no loop of its own"):
        student.no_loop(0, 0, 0, 0, em.capped(0, 1))
    assert sys.gettrace() is None


def test_the_students_own_exception_goes_through_unchanged(tmp_path: Path) -> None:
    em, student = _em_passes(), _loops(LOOPS, tmp_path)
    with pytest.raises(KeyError, match="student's own"):
        student.crashes(0, 0, 0, 0, em.capped(0, 2))
    assert sys.gettrace() is None


def test_a_rubric_item_earns_nothing_for_a_mistake_it_lists_in_zero_for(tmp_path: Path) -> None:
    from gradgrader.errors import ConfigError
    from gradgrader.rubric import RubricItem, load_rubric

    item = RubricItem("softmax_loss_naive.gradient", 1.5, zero_for=("numerical-gradient",))
    assert item.score(5 / 6) == 1.25 and item.score(5 / 6, ("numerical-gradient",)) == 0.0
    spec = load_assignment("cs231n-softmax")
    assert load_rubric(ROOT / "rubrics" / "cs231n-softmax.toml", spec).items["softmax_loss_naive.gradient"].zero_for == ("numerical-gradient",)
    bad = tmp_path / "rubric.toml"
    bad.write_text('assignment = "cs231n-softmax"\n[checks."softmax_loss_naive.loss"]\npoints = 1.0\nzero_for = "numerical-gradient"\n')
    with pytest.raises(ConfigError, match="zero_for must be a list of mistake ids"):
        load_rubric(bad, spec)
