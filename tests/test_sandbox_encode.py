"""Arguments on the wire (gradgrader.sandbox.encode): the sandbox encodes its own value
types, and a course object is any object with ``factory`` and ``fields``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradgrader.sandbox.encode import encode_args, encode_value, is_course_object
from gradgrader.spec.models import Composite


@dataclass(frozen=True)
class Mixture:
    """Not the spec's Composite: only its two attributes make it a course object."""

    factory: str
    fields: dict[str, Any]


def test_an_object_with_factory_and_fields_travels_as_its_plain_values() -> None:
    mu = np.arange(6.0).reshape(2, 3)
    blobs: list[bytes] = []
    spec = encode_value(Mixture("common:GaussianMixture", {"mu": mu, "k": 2, "p": 0.5}), blobs, {})
    assert spec == {
        "kind": "object",
        "factory": "common:GaussianMixture",
        "fields": {
            "mu": {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [2, 3]},
            "k": {"kind": "int", "value": 2},
            "p": {"kind": "float", "value": 0.5},
        },
    }
    assert blobs == [mu.tobytes()]


def test_the_spec_composite_is_encoded_as_before() -> None:
    """The same message as when the sandbox tested for the spec's class itself."""
    var = np.ones(2, dtype=np.float32)
    got, blobs = encode_args([Composite("common:GaussianMixture", {"var": var}), True, np.int64(3), 1.5])
    assert got == [
        {"kind": "object", "factory": "common:GaussianMixture",
         "fields": {"var": {"kind": "array", "blob": 0, "dtype": "<f4", "shape": [2]}}},
        {"kind": "int", "value": 1},
        {"kind": "int", "value": 3},
        {"kind": "float", "value": 1.5},
    ]
    assert blobs == [var.tobytes()]


def test_plain_values_are_not_course_objects() -> None:
    for value in (np.zeros(2), 1, 2.5, True, np.float64(1.0), "common:f"):
        assert not is_course_object(value)
    assert is_course_object(Composite("m:f", {}))


def test_an_array_shared_by_calls_of_a_batch_travels_once() -> None:
    x = np.arange(4.0)
    blobs: list[bytes] = []
    seen: dict[int, int] = {}
    first, _ = encode_args([x, np.ones(1)], blobs, seen)
    second, _ = encode_args([x], blobs, seen)
    assert first[0] == second[0] == {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [4]}
    assert len(blobs) == 2


def test_a_batch_describes_each_argument_once_and_every_call_by_indices():
    """encode_calls (#17): 80 calls sharing X and y name them by index; each array object
    travels once; numbers are kept apart by type and sign (-0.0 is not 0.0)."""
    from gradgrader.sandbox.encode import encode_calls

    x, y = np.ones((4, 3)), np.arange(4)
    points = [np.full(3, float(i)) for i in range(80)]
    blobs: list[bytes] = []
    table, calls = encode_calls([[p, x, y, 0.1] for p in points], blobs)
    assert len(table) == 80 + 3 and len(blobs) == 80 + 2
    assert all(c[1:] == calls[0][1:] for c in calls)  # X, y and reg: the same entries
    assert [table[c[0]]["blob"] for c in calls] == sorted({table[c[0]]["blob"] for c in calls})
    table, calls = encode_calls([[0.0], [-0.0], [0], [True], [float("nan")], [float("nan")]], [])
    assert [table[c[0]] for c in calls] == [
        {"kind": "float", "value": 0.0}, {"kind": "float", "value": -0.0}, {"kind": "int", "value": 0},
        {"kind": "int", "value": 1}, table[calls[4][0]], table[calls[4][0]],
    ]
    assert len({c[0] for c in calls}) == 5 and str(table[calls[1][0]]["value"]) == "-0.0"
