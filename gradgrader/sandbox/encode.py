"""Arguments on the wire: how the grader encodes the values it passes to a student's
function (the child decodes them in ``_child._decode_arg``; arrays coming back go
through :mod:`gradgrader.sandbox.decode`).

The sandbox encodes its own value types and knows nothing of how inputs are made: an
array, an int, a float, or a :class:`CourseObject`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeGuard

import numpy as np

from gradgrader.callkey import FrozenMemo, identify
from gradgrader.sandbox import _wire as wire


class CourseObject(Protocol):
    """An object the course builds in the child from named plain values: ``factory``
    ("module:callable", a module among the course's helpers, e.g.
    ``common:GaussianMixture``) called with ``fields`` as keyword arguments. Only the
    plain values cross into the sandbox; the object is rebuilt there. Any object with
    these two attributes is one (the spec's ``Composite`` is)."""

    @property
    def factory(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, Any]: ...


def is_course_object(a: Any) -> TypeGuard[CourseObject]:
    """Whether ``a`` is a :class:`CourseObject` (by its attributes: a cheaper test than
    ``isinstance`` against a runtime-checkable Protocol, made for every argument)."""
    return hasattr(a, "factory") and hasattr(a, "fields")


def encode_args(
    args: list[Any], blobs: list[bytes] | None = None, seen: dict[int, int] | None = None
) -> tuple[list[dict], list[bytes]]:
    """Arguments as JSON specs plus raw array bytes. An array object passed to several
    calls of one batch (the data X of 40 finite-difference calls) travels once; the
    child still gives every call its own copy."""
    blobs = [] if blobs is None else blobs
    seen = {} if seen is None else seen
    return [encode_value(a, blobs, seen) for a in args], blobs


def encode_value(a: Any, blobs: list[bytes], seen: dict[int, int]) -> dict:
    """One argument as its JSON spec; an array's bytes are appended to ``blobs`` (once
    per array object, ``seen`` maps its id to its blob)."""
    if isinstance(a, np.ndarray):
        if id(a) not in seen:
            seen[id(a)] = len(blobs)
            blobs.append(np.ascontiguousarray(a).tobytes())
        return {"kind": "array", "blob": seen[id(a)], "dtype": a.dtype.str, "shape": list(a.shape)}
    if is_course_object(a):
        return {"kind": "object", "factory": a.factory, "fields": {k: encode_value(v, blobs, seen) for k, v in a.fields.items()}}
    if isinstance(a, (bool, int, np.integer)):
        return {"kind": "int", "value": int(a)}
    return {"kind": "float", "value": float(a)}


def encode_calls(arg_lists: list[list[Any]], blobs: list[bytes]) -> tuple[list[dict], list[list[int]]]:
    """A batch's arguments as a table of distinct specs and, per call, the indices of its
    arguments in that table (#17): the frozen X and y of 80 finite-difference calls are
    described once, not 80 times, and an array object travels once (``blobs``). A
    number is one entry per distinct type and value; the child still decodes a fresh
    copy of every argument for every call."""
    table: list[dict] = []
    by_array: dict[int, int] = {}
    by_number: dict[tuple[type, str], int] = {}
    seen: dict[int, int] = {}
    calls = []
    for args in arg_lists:
        indices = []
        for a in args:
            if isinstance(a, np.ndarray):
                index = by_array.get(id(a))
                if index is None:
                    index = by_array[id(a)] = len(table)
                    table.append(encode_value(a, blobs, seen))
            elif type(a) in (int, float, bool):
                key = (type(a), repr(a))  # repr: -0.0 is not 0.0, and NaN is one entry
                index = by_number.get(key)
                if index is None:
                    index = by_number[key] = len(table)
                    table.append(encode_value(a, blobs, seen))
            else:
                index = len(table)
                table.append(encode_value(a, blobs, seen))
            indices.append(index)
        calls.append(indices)
    return table, calls


def calls_request(function: str, outputs: list[str], want: list[str] | None, arg_lists: list[list[Any]]) -> bytes:
    """The whole ``calls`` message for ``function`` on each argument list (framed, ready
    to send): its header names the outputs, the outputs wanted back (``want``, if given) and
    the arguments as :func:`encode_calls` makes them.

    A batch whose arrays are all frozen — read-only and owning their memory: the course's
    inputs and the finite-difference points derived from them, the same objects for
    every submission of a grading process — and whose other arguments are plain numbers
    is encoded once and remembered (#17: ~80 arrays and their header for each
    submission's finite differences). The message depends only on those arrays (by
    identity: their bytes cannot change) and the numbers' types and values, so a hit is
    byte for byte what encoding them again gives."""
    key = _frozen_batch(function, outputs, want, arg_lists)
    if key is not None:
        hit = _REQUESTS.get(*key)
        if hit is not None:
            return hit
    blobs: list[bytes] = []
    table, calls = encode_calls(arg_lists, blobs)
    request: dict[str, Any] = {"op": "calls", "function": function, "outputs": outputs, "args": table, "calls": calls}
    if want:
        request["want"] = want
    payload = wire.frame(wire.encode_header(request), blobs)
    if key is not None and len(payload) <= REQUEST_KEPT_BYTES:
        _REQUESTS.put(*key, payload, len(payload))
    return payload


# Encoded requests of frozen batches (:func:`calls_request`): at most 256 messages and
# 64 MiB (then all are forgotten); a message over REQUEST_KEPT_BYTES (a CS231n-size W's
# 80 points, ~20 MB) is not kept: copying its arrays is most of its encoding, and little
# next to the calls it asks for.
_REQUESTS: FrozenMemo[bytes] = FrozenMemo(256, 64 << 20)
REQUEST_KEPT_BYTES = 4 << 20


def _frozen_batch(
    function: str, outputs: list[str], want: list[str] | None, arg_lists: list[list[Any]]
) -> tuple[tuple[Any, ...], dict[int, np.ndarray]] | None:
    """What identifies a batch whose arguments :func:`gradgrader.callkey.identify` can
    identify (frozen arrays and plain values), and its arrays; None for any other batch."""
    parts: list[Any] = [function, tuple(outputs), tuple(want) if want else None]
    arrays: dict[int, np.ndarray] = {}
    for args in arg_lists:
        if not identify(args, parts, arrays):
            return None
        parts.append(len(args))  # where a call's arguments end
    return tuple(parts), arrays
