"""The memo key of a call: the function and the exact bytes of its arguments.

One definition for the grader's memo of a student's answers (``sandbox.session``), the
reference's memo and a student pack's recording (``cases``, ``checks.prepared``: a pack's
``ref:KEY`` entries — changing the key invalidates every shipped pack).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np


def _course_object(a: Any) -> bool:
    """An argument of the course's own type (``spec.Composite``: a factory and named plain
    fields), told by its attributes so the memo key needs no model import."""
    return isinstance(getattr(a, "factory", None), str) and isinstance(getattr(a, "fields", None), Mapping)


def array_digest(a: np.ndarray) -> bytes:
    return hashlib.sha1(str((a.dtype.str, a.shape)).encode() + np.ascontiguousarray(a).tobytes()).digest()


# Digests of frozen arrays, by id: the course's inputs and data sets are hashed once per
# process instead of once per call (a training check sends the same X 25 times per
# submission). An entry lives as long as its array (a weak reference removes it).
_FROZEN: dict[int, tuple[weakref.ref, bytes]] = {}


def _frozen_digest(a: np.ndarray) -> bytes | None:
    """The digest of an array whose bytes cannot change: it owns its memory and is
    read-only (only the grader's own code could make it writeable again, and it never
    does). ``None`` for any other array."""
    if a.flags.writeable or not a.flags.owndata:
        return None
    key = id(a)
    hit = _FROZEN.get(key)
    if hit is not None and hit[0]() is a:
        return hit[1]
    digest = array_digest(a)

    def forget(_: object) -> None:
        _FROZEN.pop(key, None)

    _FROZEN[key] = (weakref.ref(a, forget), digest)
    return digest


# Keys of calls whose arguments are all frozen arrays or plain numbers (a case's inputs,
# asked by many checks of every submission), by the arrays' ids: ~1 µs instead of ~15 µs
# of hashing (#17). An entry holds weak references and is used only while each one still
# names the very array passed (an id can be reused once an array is gone).
_KEYS: dict[tuple[Any, ...], tuple[tuple[weakref.ref, ...], str]] = {}
KEYS_KEPT = 4096


_PLAIN = (int, float, bool, str)


def call_key(function: str, args: list[Any], cache: dict[int, bytes] | None = None) -> str:
    """The memo key of a call: the function and the exact bytes of its arguments.
    ``cache`` (id → digest) hashes an array shared by many calls of a batch once."""
    fast: list[Any] = [function]
    frozen: list[np.ndarray] = []
    for a in args:
        kind = type(a)
        if kind is np.ndarray:
            flags = a.flags
            if flags.writeable or not flags.owndata:
                return _hashed_key(function, args, cache)
            fast.append(id(a))
            frozen.append(a)
        elif kind in _PLAIN:
            fast.append((kind, repr(a)))  # repr: -0.0 is not 0.0
        else:
            return _hashed_key(function, args, cache)
    known = tuple(fast)
    hit = _KEYS.get(known)
    if hit is not None:
        for ref, a in zip(hit[0], frozen):
            if ref() is not a:
                break
        else:
            return hit[1]
    key = _hashed_key(function, args, cache)
    if len(_KEYS) >= KEYS_KEPT:
        _KEYS.clear()
    _KEYS[known] = (tuple(weakref.ref(a) for a in frozen), key)
    return key


def _hashed_key(function: str, args: list[Any], cache: dict[int, bytes] | None = None) -> str:
    h = hashlib.sha1(function.encode())
    for a in args:
        if isinstance(a, np.ndarray):
            frozen = _frozen_digest(a)
            if frozen is not None:
                h.update(frozen)
            elif cache is None:
                h.update(array_digest(a))
            else:
                if id(a) not in cache:
                    cache[id(a)] = array_digest(a)
                h.update(cache[id(a)])
        elif _course_object(a):
            names = sorted(a.fields)
            h.update(f"object {a.factory} {names}".encode())
            h.update(call_key("", [a.fields[n] for n in names], cache).encode())
        else:
            h.update(repr((type(a).__name__, a)).encode())
    return h.hexdigest()
