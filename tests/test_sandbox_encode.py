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


# A batch's whole message, remembered when its arrays are frozen (#17) -----------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)  # owns its memory
    a.flags.writeable = False
    return a


def _encoded_afresh(function: str, outputs: list[str], want: list[str] | None, arg_lists: list[list[Any]]) -> bytes:
    """The message as encoding the batch now gives it, without the memory."""
    from gradgrader.sandbox import _wire as wire
    from gradgrader.sandbox.encode import encode_calls

    blobs: list[bytes] = []
    table, calls = encode_calls(arg_lists, blobs)
    request: dict[str, Any] = {"op": "calls", "function": function, "outputs": outputs, "args": table, "calls": calls}
    if want:
        request["want"] = want
    return wire.frame(wire.encode_header(request), blobs)


def _fd_batch() -> list[list[Any]]:
    rng = np.random.default_rng(3)
    X, y = _frozen(rng.standard_normal((6, 4))), _frozen(rng.integers(0, 3, 6))
    points = [_frozen(rng.standard_normal((3, 4))) for _ in range(8)]
    return [[w, X, y, 0.1] for w in points]


def test_a_frozen_batch_is_encoded_once_and_sent_byte_for_byte_as_encoded_afresh() -> None:
    from gradgrader.sandbox import encode

    batch = _fd_batch()
    first = encode.calls_request("softmax_loss", ["loss", "dW"], ["loss"], batch)
    assert first == _encoded_afresh("softmax_loss", ["loss", "dW"], ["loss"], batch)
    again = encode.calls_request("softmax_loss", ["loss", "dW"], ["loss"], [list(args) for args in batch])
    assert again is first  # remembered, not encoded again
    # Anything else that makes the message makes another one.
    other_want = encode.calls_request("softmax_loss", ["loss", "dW"], None, batch)
    assert other_want != first and other_want == _encoded_afresh("softmax_loss", ["loss", "dW"], None, batch)
    fewer = encode.calls_request("softmax_loss", ["loss", "dW"], ["loss"], batch[:-1])
    assert fewer == _encoded_afresh("softmax_loss", ["loss", "dW"], ["loss"], batch[:-1])
    swapped = [[args[1], args[0], args[2], args[3]] for args in batch]
    assert encode.calls_request("f", ["loss"], None, swapped) == _encoded_afresh("f", ["loss"], None, swapped)


def test_numbers_are_told_apart_by_type_and_sign() -> None:
    from gradgrader.sandbox import encode

    w = _frozen(np.ones((2, 2)))
    for a, b in [(0.0, -0.0), (1, 1.0), (True, 1), (float("nan"), float("inf"))]:
        sent_a = encode.calls_request("f", ["v"], None, [[w, a]])
        sent_b = encode.calls_request("f", ["v"], None, [[w, b]])
        assert sent_a == _encoded_afresh("f", ["v"], None, [[w, a]])
        assert sent_b == _encoded_afresh("f", ["v"], None, [[w, b]])


def test_a_batch_with_an_array_that_can_change_is_encoded_each_time() -> None:
    from gradgrader.sandbox import encode

    w = np.ones((2, 2))  # writeable: its bytes may differ next time
    X = _frozen(np.zeros((3, 2)))
    first = encode.calls_request("f", ["v"], None, [[w, X]])
    w[0, 0] = 5.0
    second = encode.calls_request("f", ["v"], None, [[w, X]])
    assert second != first and second == _encoded_afresh("f", ["v"], None, [[w, X]])
    view = _frozen(np.zeros((4, 2)))[1:]  # read-only but not its own memory
    assert encode._frozen_batch("f", ["v"], None, [[view]]) is None
    assert encode._frozen_batch("f", ["v"], None, [[X, {"not": "a number"}]]) is None


def test_a_remembered_message_is_not_used_for_a_new_array_that_took_a_dead_ones_id() -> None:
    from gradgrader.sandbox import encode

    key_of = encode._frozen_batch
    w = _frozen(np.full((2, 2), 1.0))
    first = encode.calls_request("f", ["v"], None, [[w]])
    found = key_of("f", ["v"], None, [[w]])
    assert found is not None and found[0] in encode._REQUESTS.entries
    key = found[0]
    del w, found  # its weak reference dies; a new array may get its id
    refs, _ = encode._REQUESTS.entries[key]
    assert refs[0]() is None
    # Whatever array holds that id now, the entry is not a hit for it.
    impostor = _frozen(np.full((2, 2), 2.0))
    now = key_of("f", ["v"], None, [[impostor]])
    if now is not None and now[0] == key:
        assert encode.calls_request("f", ["v"], None, [[impostor]]) != first
    assert encode.calls_request("f", ["v"], None, [[impostor]]) == _encoded_afresh("f", ["v"], None, [[impostor]])
    # The same, made certain: an entry under a live array's key whose reference is dead.
    import weakref

    gone = _frozen(np.zeros(1))
    dead = weakref.ref(gone)
    del gone
    planted = key_of("f", ["v"], None, [[impostor]])
    assert planted is not None
    encode._REQUESTS.entries[planted[0]] = ((dead,), b"a message for an array that is gone")
    assert encode.calls_request("f", ["v"], None, [[impostor]]) == _encoded_afresh("f", ["v"], None, [[impostor]])


def test_the_memory_of_messages_is_bounded(monkeypatch: Any) -> None:
    from gradgrader.callkey import FrozenMemo
    from gradgrader.sandbox import encode

    monkeypatch.setattr(encode, "_REQUESTS", FrozenMemo(256, 64 << 20))
    big = _frozen(np.zeros(encode.REQUEST_KEPT_BYTES // 8 + 1))
    encode.calls_request("f", ["v"], None, [[big]])
    assert encode._REQUESTS.entries == {}  # over the size of one kept message
    monkeypatch.setattr(encode, "_REQUESTS", FrozenMemo(3, 64 << 20))
    arrays = [_frozen(np.full(2, float(i))) for i in range(5)]
    for a in arrays:
        encode.calls_request("f", ["v"], None, [[a]])
        assert len(encode._REQUESTS.entries) <= 3
    small = encode.calls_request("f", ["v"], None, [[arrays[0]]])
    monkeypatch.setattr(encode, "_REQUESTS", FrozenMemo(256, 2 * len(small)))
    for a in arrays:  # bounded by bytes as well
        encode.calls_request("f", ["v"], None, [[a]])
        assert encode._REQUESTS.size <= 2 * len(small) and len(encode._REQUESTS.entries) <= 2
