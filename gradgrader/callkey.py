"""The memo key of a call: the function and the exact bytes of its arguments.

One definition for the grader's memo of a student's answers (``sandbox.session``), the
reference's memo and a student pack's recording (``cases``, ``checks.prepared``: a pack's
``ref:KEY`` entries — changing the key invalidates every shipped pack).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

import numpy as np


def _course_object(a: Any) -> bool:
    """An argument of the course's own type (``spec.Composite``: a factory and named plain
    fields), told by its attributes so the memo key needs no model import."""
    return isinstance(getattr(a, "factory", None), str) and isinstance(getattr(a, "fields", None), Mapping)


def array_digest(a: np.ndarray) -> bytes:
    return hashlib.sha1(str((a.dtype.str, a.shape)).encode() + np.ascontiguousarray(a).tobytes()).digest()


def frozen(a: np.ndarray) -> bool:
    """Whether an array's bytes cannot change: it owns its memory and is read-only (only
    the grader's own code could make it writeable again, and it never does)."""
    flags = a.flags
    return not flags.writeable and flags.owndata


# Digests of frozen arrays, by id: the course's inputs and data sets are hashed once per
# process instead of once per call (a training check sends the same X 25 times per
# submission). An entry lives as long as its array (a weak reference removes it).
_FROZEN: dict[int, tuple[weakref.ref, bytes]] = {}


def _frozen_digest(a: np.ndarray) -> bytes | None:
    """The digest of a :func:`frozen` array; ``None`` for any other array."""
    if not frozen(a):
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


_PLAIN = (int, float, bool, str)


def identify(args: Iterable[Any], parts: list[Any], arrays: dict[int, np.ndarray]) -> bool:
    """Append to ``parts`` what identifies ``args`` if every array among them is
    :func:`frozen` and everything else a plain value — an array by its id (collected in
    ``arrays``), a value by its type and ``repr`` (-0.0 is not 0.0); False if one is
    neither (``parts`` then half filled)."""
    for a in args:
        kind = type(a)
        if kind is np.ndarray:
            key = id(a)
            if key not in arrays:  # the same X with every finite-difference point: checked once
                flags = a.flags  # frozen(a), inline: ~450 keys per submission (#17)
                if flags.writeable or not flags.owndata:
                    return False
                arrays[key] = a
            parts.append(key)
        elif kind in _PLAIN:
            parts.append((kind, repr(a)))
        else:
            return False
    return True


V = TypeVar("V")


class FrozenMemo(Generic[V]):
    """Values remembered by what :func:`identify` makes of their arguments. A value is
    used only while each weak reference still names the very array it was made from (an
    id can be reused once an array is gone). At most ``kept`` values and, if given,
    ``kept_bytes`` of their sizes; then all of them are forgotten."""

    def __init__(self, kept: int, kept_bytes: int | None = None) -> None:
        self.entries: dict[tuple[Any, ...], tuple[tuple[weakref.ref, ...], V]] = {}
        self.kept, self.kept_bytes, self.size = kept, kept_bytes, 0

    def get(self, key: tuple[Any, ...], arrays: dict[int, np.ndarray]) -> V | None:
        hit = self.entries.get(key)
        if hit is None:
            return None
        for ref, a in zip(hit[0], arrays.values()):  # a loop: a generator cost more than the lookup
            if ref() is not a:
                return None
        return hit[1]

    def put(self, key: tuple[Any, ...], arrays: dict[int, np.ndarray], value: V, size: int = 0) -> None:
        if len(self.entries) >= self.kept or (self.kept_bytes is not None and self.size + size > self.kept_bytes):
            self.entries.clear()
            self.size = 0
        self.entries[key] = (tuple(weakref.ref(a) for a in arrays.values()), value)
        self.size += size


# Keys of calls whose arguments are all frozen arrays or plain numbers (a case's inputs,
# asked by many checks of every submission): ~1 µs instead of ~15 µs of hashing (#17).
_KEYS: FrozenMemo[str] = FrozenMemo(4096)


def call_key(function: str, args: list[Any], cache: dict[int, bytes] | None = None) -> str:
    """The memo key of a call: the function and the exact bytes of its arguments.
    ``cache`` (id → digest) hashes an array shared by many calls of a batch once."""
    parts: list[Any] = [function]
    arrays: dict[int, np.ndarray] = {}
    if not identify(args, parts, arrays):
        return _hashed_key(function, args, cache)
    known = tuple(parts)
    hit = _KEYS.get(known, arrays)
    if hit is not None:
        return hit
    key = _hashed_key(function, args, cache)
    _KEYS.put(known, arrays, key)
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
