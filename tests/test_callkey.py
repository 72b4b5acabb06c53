"""gradgrader.callkey: the memo key of a call, and its fast path for frozen inputs (#17)."""

from __future__ import annotations

import gc

import numpy as np

import gradgrader.callkey as callkey
from gradgrader.callkey import _hashed_key, call_key


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


def test_the_fast_path_gives_the_hashed_key() -> None:
    X, y = _frozen(np.arange(12.0).reshape(3, 4)), _frozen(np.array([0, 1, 2]))
    for args in ([X, y, 0.1], [X, 3, True], [X, "s"], [0.0], [-0.0]):
        assert call_key("f", args) == call_key("f", args) == _hashed_key("f", args)


def test_minus_zero_and_zero_keep_their_own_keys() -> None:
    assert call_key("f", [0.0]) != call_key("f", [-0.0])
    assert call_key("f", [1]) != call_key("f", [1.0]) != call_key("f", [True])


def test_the_fast_path_is_taken_for_frozen_inputs_only(monkeypatch) -> None:
    X = _frozen(np.ones((2, 2)))
    call_key("g", [X, 1.0])
    hashed: list[object] = []
    monkeypatch.setattr(callkey, "_hashed_key", lambda *a: hashed.append(a) or "k")
    call_key("g", [X, 1.0])
    assert hashed == []  # answered from the memo of keys
    call_key("g", [np.ones((2, 2)), 1.0])  # writeable: its bytes may change, always hashed
    call_key("g", [X[:1], 1.0])  # a view of frozen memory is hashed too
    assert len(hashed) == 2


def test_a_reused_id_never_returns_a_dead_arrays_key() -> None:
    keys = set()
    for value in range(50):  # new arrays, ids freed and often reused at once
        a = _frozen(np.full(3, float(value)))
        keys.add(call_key("h", [a]))
        del a
        gc.collect()
    assert len(keys) == 50


def test_the_memo_of_keys_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(callkey, "_KEYS", callkey.FrozenMemo(8))
    kept = [_frozen(np.full(2, float(i))) for i in range(20)]
    for a in kept:
        call_key("b", [a])
        assert len(callkey._KEYS.entries) <= 8
