"""gradgrader/sandbox/process.py: how one reply of a student process is read (``_parse``),
without a process: every array must be asked for, named once, and decodable; type names
are sanitized (and remembered, #17)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from gradgrader.sandbox.model import Problem, Returned
from gradgrader.sandbox.process import StudentProcess


def _npy(a: np.ndarray) -> bytes:
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


@pytest.fixture
def proc() -> StudentProcess:
    p = object.__new__(StudentProcess)  # only what _parse reads
    p._max_elements = 1 << 20
    p.decode_left = 1 << 30
    return p


def test_a_reply_with_every_array_asked_for_is_decoded(proc):
    msg = {"ok": True, "outputs": [{"type": "numpy.float64", "blob": 0}, {"type": "numpy.ndarray", "blob": 1}]}
    got = proc._parse(msg, ["loss", "dW"], [_npy(np.float64(2.5)), _npy(np.ones((2, 3)))], 0.01)
    assert isinstance(got, Returned) and got.types == ("numpy.float64", "numpy.ndarray")
    assert float(got.values[0]) == 2.5 and got.values[1].shape == (2, 3)


@pytest.mark.parametrize(
    "outs, blobs, want",
    [
        ([{"type": "f", "blob": 0}, {"type": "a", "blob": 1}], 2, ["loss"]),  # dW not asked for
        ([{"type": "f", "blob": 0}, {"type": "a", "skipped": True}], 2, None),  # one array too many
        ([{"type": "f", "blob": 0}, {"type": "a", "blob": 0}], 2, None),  # one array named twice
        ([{"type": "f", "blob": 1}, {"type": "a", "blob": 2}], 2, None),  # names past the arrays
    ],
)
def test_an_array_not_asked_for_or_not_named_once_is_refused_undecoded(proc, outs, blobs, want):
    got = proc._parse({"ok": True, "outputs": outs}, ["loss", "dW"], [b"not even npy"] * blobs, 0.0, want)
    assert isinstance(got, Problem) and got.kind == "crashed" and "not asked for" in got.message


def test_a_reply_with_the_wrong_number_of_outputs_or_no_dict_is_malformed(proc):
    three = {"ok": True, "outputs": [{"type": "f", "blob": 0}, {"type": "a", "blob": 1}, {"type": "x", "blob": 2}]}
    for msg, blobs in (([], 0), ({"ok": True, "outputs": [{"type": "f", "skipped": True}]}, 0),
                       ({"ok": True, "outputs": [1, 2]}, 0), (three, 3)):
        got = proc._parse(msg, ["loss", "dW"], [b"x"] * blobs, 0.0)
        assert isinstance(got, Problem) and "malformed" in got.message


def test_type_names_are_sanitized_the_first_time_and_every_time_after():
    from gradgrader.sandbox import process

    hostile = "numpy.\x1b[31mndarray\x07"
    p = object.__new__(StudentProcess)
    p._max_elements, p.decode_left = 1 << 20, 1 << 30
    for _ in range(3):
        got = p._parse({"ok": True, "outputs": [{"type": hostile, "skipped": True}]}, ["v"], [], 0.0, ["w"])
        assert isinstance(got, Returned) and got.types == ("numpy.[31mndarray",)
    assert process._TYPE_NAMES[hostile] == "numpy.[31mndarray"
    long = "x" * 500
    got = p._parse({"ok": True, "outputs": [{"type": long, "skipped": True}]}, ["v"], [], 0.0, ["w"])
    assert got.types == ("x" * 100,) and long not in process._TYPE_NAMES
    got = p._parse({"ok": True, "outputs": [{"type": 7, "skipped": True}]}, ["v"], [], 0.0, ["w"])
    assert got.types == ("7",)
