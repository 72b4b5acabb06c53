"""Strict decoding of the arrays a sandboxed process returns.

Only the ``.npy`` format (version 1.0/2.0) with a float, integer or boolean dtype is
accepted, with a bounded header, at most ``MAX_NDIM`` dimensions and a data section
whose size is exactly what the header promises. No pickle, no object dtype, no
structured dtype, no memory mapping: the result is always a C-ordered float64 array —
read in place (read-only) when the bytes hold exactly that, else a converted copy.
"""

from __future__ import annotations

import ast
import re

import numpy as np

MAGIC = b"\x93NUMPY"
MAX_HEADER = 4096
MAX_NDIM = 8
ALLOWED_KINDS = {"f", "i", "u", "b"}


# The exact header numpy (and gradgrader's sandbox) writes; parsed without ast. Anything
# else still goes through ast.literal_eval and the same checks.
_HEADER = re.compile(
    r"\{'descr': '([<>|=]?[a-zA-Z]\d{0,2})', 'fortran_order': (True|False), 'shape': \(((?:\d+, )*\d*,?)\), \} *\n?"
)


class DecodeError(ValueError):
    """The bytes are not an array gradgrader accepts; the message says why."""


def decode_array(data: bytes, max_elements: int = 1 << 25) -> np.ndarray:
    """Parse ``.npy`` bytes into a float64 array, rejecting anything unexpected.

    ``max_elements`` counts elements of the result, whatever the sent dtype: the result
    is float64, so it holds at most 8 × ``max_elements`` bytes (a bool array of n bytes
    would otherwise decode to 8n)."""
    end, dtype, fortran, shape, count = _layout(data, max_elements)
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=end)
    if dtype == _FLOAT64 and not fortran and isinstance(data, bytes):
        # Already what is returned: read in place (the bytes cannot change), not copied
        # (~10 % of the grader's time went to decoding its ~200 replies, #17).
        return arr.reshape(shape)
    return np.array(arr.reshape(shape, order="F" if fortran else "C"), dtype=np.float64, order="C")


_FLOAT64 = np.dtype(np.float64)  # native byte order: a '<f8' header on a little-endian machine


def float64_layout(data: bytes, max_elements: int = 1 << 25) -> tuple[int, tuple[int, ...]] | None:
    """Where the data of a C-ordered float64 array starts in these ``.npy`` bytes and its
    shape, if :func:`decode_array` accepts them and reads them in place; else None."""
    try:
        end, dtype, fortran, shape, _ = _layout(data, max_elements)
    except DecodeError:
        return None
    return (end, shape) if dtype == _FLOAT64 and not fortran else None


def _layout(data: bytes, max_elements: int) -> tuple[int, np.dtype, bool, tuple[int, ...], int]:
    """(data offset, dtype, fortran order, shape, element count) of ``.npy`` bytes whose
    header is accepted and whose data is exactly the size it promises."""
    end, descr, dtype, fortran, shape = _header(data)
    count = _element_count(shape, max_elements)
    if len(data) - end != count * dtype.itemsize:
        raise DecodeError(
            f"array data has {len(data) - end} bytes but shape {shape} of {descr} needs {count * dtype.itemsize}"
        )
    return end, dtype, fortran, shape, count


# Checked headers by their bytes (a submission's replies repeat a few): parsing and
# checking depend on the header's bytes alone, so a hit is exactly what parsing gives.
# Only accepted headers are kept, at most HEADERS_KEPT of them (then none are added).
_HEADERS: dict[bytes, tuple[int, str, np.dtype, bool, tuple[int, ...]]] = {}
HEADERS_KEPT = 1024


def _header(data: bytes) -> tuple[int, str, np.dtype, bool, tuple[int, ...]]:
    """(data offset, descr, dtype, fortran order, shape) of ``.npy`` bytes, checked."""
    if len(data) >= 10 and data[6] == 1:  # version 1.0: numpy's and the child's
        head = data[: 10 + int.from_bytes(data[8:10], "little")]
        hit = _HEADERS.get(head)
        if hit is not None:
            return hit
    text, end = _header_text(data)
    checked = (end, *_checked_header(_parse_header(text)))
    if len(_HEADERS) < HEADERS_KEPT and data[6] == 1:
        _HEADERS[data[:end]] = checked
    return checked


def _header_text(data: bytes) -> tuple[str, int]:
    """The header's text and the offset where the array data starts (magic, version and
    header length checked, the length capped at ``MAX_HEADER``)."""
    if len(data) < 10 or data[:6] != MAGIC:
        raise DecodeError("not an .npy array (bad magic)")
    major = data[6]
    if major == 1:
        hlen, start = int.from_bytes(data[8:10], "little"), 10
    elif major in (2, 3):
        if len(data) < 12:
            raise DecodeError("truncated .npy header")
        hlen, start = int.from_bytes(data[8:12], "little"), 12
    else:
        raise DecodeError(f"unsupported .npy version {major}")
    if hlen > MAX_HEADER:
        raise DecodeError(f".npy header of {hlen} bytes is over the {MAX_HEADER}-byte cap")
    if len(data) < start + hlen:
        raise DecodeError("truncated .npy header")
    return data[start : start + hlen].decode("latin1"), start + hlen


def _parse_header(text: str) -> object:
    """The header as a Python literal: numpy's exact layout by regex, anything else by
    ``ast.literal_eval`` (never ``eval``); its content is checked by ``_checked_header``."""
    fast = _HEADER.fullmatch(text)
    if fast:
        dims = tuple(int(n) for n in fast.group(3).replace(" ", "").split(",") if n)
        return {"descr": fast.group(1), "fortran_order": fast.group(2) == "True", "shape": dims}
    try:
        return ast.literal_eval(text)
    except Exception as exc:  # noqa: BLE001 - TypeError ({[]: 1}), ValueError, MemoryError, RecursionError, ...
        raise DecodeError(f"unreadable .npy header ({type(exc).__name__})") from None


def _checked_header(header: object) -> tuple[str, np.dtype, bool, tuple[int, ...]]:
    """``(descr, dtype, fortran_order, shape)`` of a header with exactly the three keys,
    a plain numeric dtype and at most ``MAX_NDIM`` non-negative integer dimensions."""
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise DecodeError("the .npy header must have exactly descr, fortran_order and shape")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(descr, str) or not isinstance(fortran, bool):
        raise DecodeError("bad descr or fortran_order in .npy header")
    try:
        dtype = np.dtype(descr)
    except Exception:  # noqa: BLE001 - numpy's parser raises TypeError, ValueError, SyntaxError...
        raise DecodeError(f"unknown dtype {descr!r}") from None
    if dtype.kind not in ALLOWED_KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype:
        raise DecodeError(f"dtype {descr!r} is not numeric (only float, int and bool arrays are accepted)")
    if (
        not isinstance(shape, tuple)
        or len(shape) > MAX_NDIM
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise DecodeError(f"bad shape {shape!r} in .npy header")
    return descr, dtype, fortran, shape


def _element_count(shape: tuple[int, ...], max_elements: int) -> int:
    """The number of elements of ``shape``, refused past ``max_elements`` (checked as it
    grows, so a huge shape is never multiplied out)."""
    count = 1
    for n in shape:
        if n > max_elements:  # also for empty arrays: a dimension of 2**63 is never honest
            raise DecodeError(f"array of shape {shape} has a dimension over {max_elements}")
        count *= n
        if count > max_elements:
            raise DecodeError(f"array of shape {shape} has more than {max_elements} elements")
    return count
