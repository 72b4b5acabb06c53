"""The diagnosis names mistakes from values only, localises errors, and never guesses."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from gradgrader.assignment import load_assignment
from gradgrader.checks.base import CheckContext, Course
from gradgrader.diagnose import diagnose, error_map, localise, parse_coefficient

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
MISTAKES = ROOT / "docs" / "mistakes.md"


@pytest.fixture(scope="module")
def softmax_ctx() -> CheckContext:
    # diagnose() only needs the assignment (its config and hooks), not a sandbox session.
    return CheckContext(Course(load_assignment("softmax")), session=None)  # type: ignore[arg-type]


def dw_case(ctx: CheckContext, case: str = "medium") -> tuple[dict, dict, np.ndarray]:
    args = ctx.inputs("softmax_loss", case)
    dims = dict(ctx.course.dims(case))
    return args, dims, ctx.reference("softmax_loss", args)["dW"]


def terms(ctx: CheckContext, args: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import importlib

    from gradgrader.course import hooks_module

    h = hooks_module(ctx.assignment)
    assert h is not None
    importlib.invalidate_caches()
    return h.dW_expectation(**args), h.dW_data(**args), h.dW_regulariser(**args)


@pytest.mark.parametrize(
    ("coef", "mistake"),
    [
        ((-1, -1, -1), "sign-flipped"),
        (("N", "N", 1), "missing-normalization"),
        ((0, 1, 1), "missing-expectation-term"),
        ((1, 0, 1), "missing-indicator-term"),
        ((1, 1, 2), "wrong-regularization"),
        ((1, 1, 0), "wrong-regularization"),
    ],
)
def test_term_coefficients_name_the_mistake(softmax_ctx: CheckContext, coef: tuple, mistake: str) -> None:
    args, dims, ref = dw_case(softmax_ctx)
    parts = terms(softmax_ctx, args)
    student = sum(parse_coefficient(c, dims) * t for c, t in zip(coef, parts))
    found = diagnose(softmax_ctx, "softmax_loss", "dW", student, ref, args, dims)
    assert found is not None and found.mistake == mistake


def test_float32_rounding_does_not_hide_the_mistake(softmax_ctx: CheckContext) -> None:
    args, dims, ref = dw_case(softmax_ctx)
    student = (-ref).astype(np.float32).astype(np.float64)
    found = diagnose(softmax_ctx, "softmax_loss", "dW", student, ref, args, dims)
    assert found is not None and found.mistake == "sign-flipped"


def test_transposed_layout_is_named(softmax_ctx: CheckContext) -> None:
    args, dims, ref = dw_case(softmax_ctx)
    found = diagnose(softmax_ctx, "softmax_loss", "dW", ref.T.copy(), ref, args, dims)
    assert found is not None and found.mistake == "transposed"


def test_an_unrelated_error_gets_no_mistake_id(softmax_ctx: CheckContext) -> None:
    args, dims, ref = dw_case(softmax_ctx)
    noisy = ref + 0.3 * np.random.default_rng(0).standard_normal(ref.shape) * np.abs(ref).mean()
    found = diagnose(softmax_ctx, "softmax_loss", "dW", noisy, ref, args, dims)
    assert found is None or found.mistake is None


def test_a_near_miss_of_a_pattern_is_not_accepted(softmax_ctx: CheckContext) -> None:
    # 1.05 × the regulariser is neither 1 (correct) nor 2 (the classic mistake).
    args, dims, ref = dw_case(softmax_ctx)
    e, d, r = terms(softmax_ctx, args)
    found = diagnose(softmax_ctx, "softmax_loss", "dW", e + d + 1.3 * r, ref, args, dims)
    assert found is None or found.mistake is None


def test_zero_row_is_localised_with_its_label(softmax_ctx: CheckContext) -> None:
    args, dims, ref = dw_case(softmax_ctx)
    student = ref.copy()
    student[0] = 0.0
    found = diagnose(softmax_ctx, "softmax_loss", "dW", student, ref, args, dims)
    assert found is not None and found.mistake is None
    assert found.where == "row 0 (class 0) of dW is zero"


def test_only_the_diagonal_differs() -> None:
    ref = np.arange(16.0).reshape(4, 4) + 1
    student = ref - np.diag(np.diag(ref))
    assert localise(student, ref, "J") == "only the diagonal of J differs"


def test_a_pair_of_symmetric_entries_is_named() -> None:
    ref = np.ones((6, 6))
    student = ref.copy()
    student[2, 5] = student[5, 2] = 7.0
    text = localise(student, ref, "G")
    assert "(2, 5)" in text and "(5, 2)" in text


def test_error_map_is_capped_and_keeps_a_single_bad_entry_visible() -> None:
    ref = np.ones((40, 100))
    student = ref.copy()
    student[37, 91] = 3.0
    emap = error_map(student, ref)
    assert emap is not None and len(emap) <= 16 and all(len(row) <= 16 for row in emap)
    assert max(max(row) for row in emap) == pytest.approx(2.0)
    assert sum(v > 0 for row in emap for v in row) == 1


def test_coefficients_parse_dimensions_and_wildcards() -> None:
    dims = {"N": 8}
    assert parse_coefficient("N", dims) == 8
    assert parse_coefficient("-N", dims) == -8
    assert parse_coefficient("1/N", dims) == pytest.approx(0.125)
    assert parse_coefficient(0.5, dims) == 0.5
    assert parse_coefficient("*", dims) is None


# ----------------------------------------------------------------- over the sample sets


def documented_mistake_ids() -> set[str]:
    """The derivation mistakes docs/mistakes.md promises gradgrader names."""
    text = MISTAKES.read_text(encoding="utf-8")
    section = text[text.index("## Derivation mistakes") : text.index("## The code did not run or answer")]
    return set(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.M))


def expected_samples() -> dict[str, dict]:
    out = {}
    for path in sorted(ROOT.glob("assignments/*/samples/EXPECTED.toml")):
        for sid, entry in tomllib.loads(path.read_text(encoding="utf-8")).items():
            out[f"{path.parent.parent.name}/{sid}"] = entry
    return out


def test_every_documented_mistake_id_has_a_sample_that_triggers_it() -> None:
    wanted = documented_mistake_ids()
    assert len(wanted) >= 18
    covered = {m for entry in expected_samples().values() for m in entry["mistakes"]}
    assert wanted <= covered, f"no sample demonstrates: {sorted(wanted - covered)}"


def test_correct_samples_expect_no_mistakes() -> None:
    for sid, entry in expected_samples().items():
        if entry["full_marks"]:
            assert entry["mistakes"] == [], sid


# ----------------------------------------------------------------- explanations that fit


@pytest.mark.parametrize(
    ("body", "exc"),
    [
        ("return np.ones((3, 1))[Z.shape[0] + 5]", "IndexError"),
        ("return undefined_name + Z", "NameError"),
        ("raise EOFError('EOF when reading a line')", "EOFError"),
    ],
)
def test_an_ordinary_exception_is_explained_as_an_exception_not_as_the_process_ending(tmp_path, body, exc):
    import json

    from typer.testing import CliRunner

    from gradgrader.cli import app

    (tmp_path / "softmax.py").write_text(f"import numpy as np\n\ndef softmax(Z):\n    {body}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "softmax.py"), "-a", "softmax", "--json"])
    data = json.loads(result.stdout)
    check = next(c for c in data["checks"] if c["id"] == "softmax.value")
    assert exc in check["message"] and check["mistakes"] == ["crashed"]
    assert "raised an exception" in check["diagnosis"]["title"]
    assert "ended the process" not in check["diagnosis"]["explanation"]


def test_a_process_that_exits_is_still_explained_as_the_process_ending(tmp_path):
    import json

    from typer.testing import CliRunner

    from gradgrader.cli import app

    (tmp_path / "softmax.py").write_text("import os\n\ndef softmax(Z):\n    os._exit(3)\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "softmax.py"), "-a", "softmax", "--json"])
    check = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "softmax.value")
    assert check["mistakes"] == ["crashed"] and "ended the process" in check["diagnosis"]["explanation"]


def test_each_explanation_fits_the_function_it_is_attached_to(tmp_path):
    # A flipped Jacobian is explained with the Jacobian's math, never with ∇_W J's
    # "keep the leading minus".
    import json

    from typer.testing import CliRunner

    from gradgrader.cli import app

    (tmp_path / "softmax.py").write_text(
        "import numpy as np\n\ndef softmax_jacobian(z):\n"
        "    s = np.exp(z - z.max()); s = s / s.sum()\n    return np.outer(s, s) - np.diag(s)\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check", str(tmp_path / "softmax.py"), "-a", "softmax", "--json"])
    check = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "softmax_jacobian.value")
    assert check["mistakes"] == ["sign-flipped"]
    text = check["diagnosis"]["explanation"] + check["diagnosis"].get("next_step", "")
    assert "∂s_k/∂z_l" in text and "leading minus" not in text and "∇_W J" not in text


def test_the_error_map_pools_the_maximum_of_each_block_as_fancy_indexing_does():
    """error_map's blocks are slices (#17): the same cells as np.ix_ over array_split."""
    import math

    from gradgrader.diagnose import MAP_MAX, error_map

    rng = np.random.default_rng(3)
    for shape in [(1,), (5,), (3, 4), (10, 65), (17, 3), (2, 3, 4), (40, 12), (1, 1), (9, 9, 2)]:
        s, r = rng.standard_normal(shape), rng.standard_normal(shape)
        s.flat[-1] = np.nan
        diff = np.where(np.isfinite(np.abs(s - r)), np.abs(s - r), np.inf) / max(float(np.max(np.abs(r))), 1e-300)
        m = diff.reshape(1, -1) if diff.ndim <= 1 else diff.reshape(diff.shape[0], -1)
        rows = np.array_split(np.arange(m.shape[0]), min(MAP_MAX, m.shape[0]))
        cols = np.array_split(np.arange(m.shape[1]), min(MAP_MAX, m.shape[1]))
        want = tuple(tuple(float(f"{v:.3g}") if math.isfinite(v) else float("inf")
                           for v in (float(m[np.ix_(i, j)].max()) for j in cols)) for i in rows)
        assert error_map(s, r) == want, shape
