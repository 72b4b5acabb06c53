"""gradgrader/findings.py: the relative error every check measures with."""

from __future__ import annotations

import math

import numpy as np

from gradgrader.findings import FLOOR, norm, rel_error


def test_norm_is_numpys_frobenius_norm_to_the_last_bit():
    """findings.norm (#17) gives float(np.linalg.norm(x)) exactly, whatever the dtype,
    layout or size: rel_error's verdicts cannot move."""
    rng = np.random.default_rng(1)
    cases = [
        rng.standard_normal((5, 12)), rng.standard_normal(7).astype(np.float32), np.float64(3.5), np.array(-2.0),
        rng.integers(-5, 5, (3, 4)), np.array([True, False, True]), np.zeros((0, 3)), np.array([np.inf, 1.0]),
        np.array([np.nan]), rng.standard_normal((3, 4, 5))[:, ::2, :].transpose(2, 0, 1),
        np.asfortranarray(rng.standard_normal((6, 4))), 1e-200 * np.ones(4), 2.0, 7, np.float32(3.1),
        rng.standard_normal(9).astype(np.float16), np.array([1 + 2j, 3j]),
    ]
    for x in cases:
        mine, numpys = norm(x), float(np.linalg.norm(x))
        assert mine == numpys or (math.isnan(mine) and math.isnan(numpys)), x


def test_rel_error_is_symmetric_scale_free_and_floored():
    rng = np.random.default_rng(2)
    s, r = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert rel_error(s, r) == rel_error(r, s)
    assert math.isclose(rel_error(1e6 * s, 1e6 * r), rel_error(s, r), rel_tol=1e-12)
    assert rel_error(np.zeros(3), 1e-12 * np.ones(3)) == np.linalg.norm(1e-12 * np.ones(3)) / FLOOR
    assert rel_error(r, r) == 0.0
