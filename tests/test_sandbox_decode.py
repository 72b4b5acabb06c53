"""The strict .npy decoder (gradgrader/sandbox/decode.py): plain numeric arrays in,
fresh float64 arrays out; anything else is a DecodeError, never another exception."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import assert_only_attacked_fail, attack

from gradgrader.ingest import Submission
from gradgrader.sandbox.decode import MAX_HEADER, MAX_NDIM, DecodeError, decode_array


def npy(arr: np.ndarray, version: tuple[int, int] | None = None) -> bytes:
    """What numpy itself writes for ``arr`` (no pickle)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def crafted(header: object, body: bytes = b"", version: int = 1, pad: bool = True) -> bytes:
    """Hand-made .npy bytes with an arbitrary header text (a dict is written with repr)."""
    text = header if isinstance(header, str) else repr(header)
    if pad:
        text += " " * (64 - (10 + len(text) + 1) % 64) + "\n"
    raw = text.encode("latin1")
    size = len(raw).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + raw + body


def header(descr: str = "<f8", shape: tuple = (2,), fortran_order: bool = False) -> dict:
    return {"descr": descr, "fortran_order": fortran_order, "shape": shape}


# ----------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(6, dtype=np.float64).reshape(2, 3) / 7,
        np.arange(6, dtype=np.float32).reshape(3, 2) / 7,
        np.float16([0.5, -2.0]),
        np.arange(-3, 3, dtype=np.int64),
        np.arange(4, dtype=np.int8).reshape(2, 2),
        np.arange(5, dtype=np.uint16),
        np.array([True, False, True]),
        np.array([1.0, 2.0]).astype(">f8"),
        np.zeros((0, 3)),
        np.ones((1,) * MAX_NDIM),
    ],
    ids=[
        "float64",
        "float32",
        "float16",
        "int64",
        "int8",
        "uint16",
        "bool",
        "big-endian",
        "empty",
        "max-ndim",
    ],
)
def test_numeric_arrays_decode_to_equal_float64(arr):
    out = decode_array(npy(arr))
    assert out.dtype == np.float64
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr.astype(np.float64))


@pytest.mark.parametrize(
    "value", [np.float64(2.5), np.int32(-7), np.bool_(True)], ids=["float", "int", "bool"]
)
def test_zero_dimensional_arrays_decode_to_float64_scalars(value):
    out = decode_array(npy(np.array(value)))
    assert out.shape == () and out.dtype == np.float64
    assert float(out) == float(value)


def test_fortran_order_is_read_in_fortran_order():
    arr = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4))
    data = npy(arr)
    assert b"'fortran_order': True" in data
    out = decode_array(data)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.c_contiguous


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_npy_version_numpy_writes_is_accepted(version):
    arr = np.linspace(0, 1, 5)
    np.testing.assert_array_equal(decode_array(npy(arr, version)), arr)


def test_a_float64_array_is_read_in_place_and_nothing_can_change_it():
    """The bytes already hold the float64 array returned: no copy (#17), and neither the
    array nor the bytes can be changed through it."""
    data = npy(np.arange(6.0).reshape(2, 3))
    out = decode_array(data)
    assert out.dtype == np.float64 and out.shape == (2, 3) and out.flags.c_contiguous
    assert not out.flags.writeable
    with pytest.raises(ValueError):
        out[0, 0] = 5.0
    with pytest.raises(ValueError):
        out.flags.writeable = True  # a view of immutable bytes stays read-only
    np.testing.assert_array_equal(out, np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("arr", [np.arange(3, dtype=np.float32), np.arange(3), np.array([True, False]),
                                 np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(3.0).astype(">f8")])
def test_anything_else_is_decoded_into_a_fresh_float64_copy(arr):
    data = bytearray(npy(arr))
    out = decode_array(bytes(data))
    assert out.dtype == np.float64 and out.flags.c_contiguous and out.flags.owndata and out.flags.writeable
    np.testing.assert_array_equal(out, arr.astype(np.float64))
    out[...] = 5.0  # does not touch the bytes it came from
    np.testing.assert_array_equal(decode_array(bytes(data)), arr.astype(np.float64))


# ----------------------------------------------------------------- rejected dtypes


@pytest.mark.parametrize(
    "descr",
    [
        "|O",
        "<c16",
        "<c8",
        "<U3",
        "|S4",
        "|V8",
        "<M8[s]",
        "<m8[s]",
        "[('a', '<f8')]",
        "<f8,<i4",
        "(2,)<f8",
        "no-such-type",
        "",
    ],
    ids=[
        "object",
        "complex128",
        "complex64",
        "unicode",
        "bytes",
        "void",
        "datetime",
        "timedelta",
        "structured-list",
        "structured-str",
        "subarray",
        "unknown",
        "empty",
    ],
)
def test_non_numeric_dtypes_are_rejected(descr):
    with pytest.raises(DecodeError):
        decode_array(crafted(header(descr, (2,)), b"\0" * 64))


def test_object_array_written_by_numpy_is_rejected():
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DecodeError, match="not numeric"):
        decode_array(buf.getvalue())


def test_structured_array_written_by_numpy_is_rejected():
    arr = np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")])
    with pytest.raises(DecodeError):
        decode_array(npy(arr))


def test_complex_array_written_by_numpy_is_rejected():
    with pytest.raises(DecodeError, match="not numeric"):
        decode_array(npy(np.array([1 + 2j])))


# ----------------------------------------------------------------- rejected headers


def test_bad_magic_is_rejected():
    data = npy(np.ones(2))
    with pytest.raises(DecodeError, match="magic"):
        decode_array(b"\x93NUMPZ" + data[6:])


@pytest.mark.parametrize(
    "data",
    [b"", b"\x93NUMPY", b"\x93NUMPY\x01\x00\x10"],
    ids=["empty", "magic-only", "short-length"],
)
def test_truncated_prefix_is_rejected(data):
    with pytest.raises(DecodeError):
        decode_array(data)


@pytest.mark.parametrize("major", [0, 4, 255])
def test_unknown_version_is_rejected(major):
    data = bytearray(npy(np.ones(2)))
    data[6] = major
    with pytest.raises(DecodeError, match="version"):
        decode_array(bytes(data))


def test_header_over_the_cap_is_rejected_before_it_is_parsed():
    text = repr(header()) + " " * (MAX_HEADER + 100) + "\n"
    with pytest.raises(DecodeError, match="cap"):
        decode_array(crafted(text, b"\0" * 16, version=2, pad=False))


def test_header_length_beyond_the_data_is_rejected():
    data = crafted(header())
    with pytest.raises(DecodeError, match="truncated"):
        decode_array(data[:20])


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2, 3]",
        "'descr'",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)",
        "__import__('os')",
        "{1: 2}",
    ],
    ids=["list", "string", "unbalanced", "call", "int-keys"],
)
def test_header_that_is_not_a_dict_literal_is_rejected(text):
    with pytest.raises(DecodeError):
        decode_array(crafted(text, b"\0" * 16))


@pytest.mark.parametrize(
    "bad",
    [
        {**header(), "extra": 1},
        {"descr": "<f8", "shape": (2,)},
        {"descr": "<f8", "fortran_order": False},
        {"descr": np.dtype("<f8").str, "fortran_order": 0, "shape": (2,)},
        {"descr": ["<f8"], "fortran_order": False, "shape": (2,)},
    ],
    ids=["extra-key", "no-fortran-order", "no-shape", "int-fortran-order", "list-descr"],
)
def test_header_with_wrong_keys_or_types_is_rejected(bad):
    with pytest.raises(DecodeError):
        decode_array(crafted(bad, b"\0" * 16))


@pytest.mark.parametrize(
    "shape",
    [(-1,), (2, -3), (True,), (False, 2), (2.0,), ("2",), [2], (1,) * (MAX_NDIM + 1), None, 2],
    ids=[
        "negative",
        "negative-inner",
        "bool",
        "bool-zero",
        "float",
        "string",
        "list",
        "too-many-dims",
        "none",
        "int",
    ],
)
def test_bad_shapes_are_rejected(shape):
    with pytest.raises(DecodeError):
        decode_array(crafted(header(shape=shape), b"\0" * 16))


def test_shape_with_more_elements_than_the_cap_is_rejected_without_allocating():
    # 2**40 float64 would be 8 TiB: the decoder must refuse on the header alone.
    with pytest.raises(DecodeError, match="more than"):
        decode_array(crafted(header(shape=(1 << 20, 1 << 20)), b"\0" * 8))


def test_cap_on_elements_is_configurable():
    data = npy(np.ones(10))
    assert decode_array(data, max_elements=10).shape == (10,)
    with pytest.raises(DecodeError):
        decode_array(data, max_elements=9)


@pytest.mark.parametrize(
    "shape", [(0, 1 << 63), (0, 1 << 40, 1 << 40)], ids=["dim-2**63", "dims-2**40"]
)
def test_empty_shape_with_a_huge_dimension_is_rejected(shape):
    with pytest.raises(DecodeError):
        decode_array(crafted(header(shape=shape)))


@pytest.mark.parametrize("extra", [-8, -1, 1, 8], ids=["8-short", "1-short", "1-long", "8-long"])
def test_data_section_of_the_wrong_size_is_rejected(extra):
    data = npy(np.arange(6, dtype=np.float64))
    data = data[:extra] if extra < 0 else data + b"\0" * extra
    with pytest.raises(DecodeError, match="bytes"):
        decode_array(data)


def test_missing_data_section_is_rejected():
    with pytest.raises(DecodeError):
        decode_array(crafted(header(shape=(3,))))


def test_deeply_nested_header_is_rejected():
    with pytest.raises(DecodeError):
        decode_array(crafted("(" * 2000 + ")" * 2000, pad=False, version=2))


def test_decode_error_is_a_value_error_with_a_reason():
    with pytest.raises(ValueError) as info:
        decode_array(b"not an array at all")
    assert isinstance(info.value, DecodeError) and str(info.value)


def _npy(header: str, body: bytes) -> bytes:
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1") + body


def test_a_header_whose_literal_eval_raises_typeerror_is_a_decode_error():
    data = _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), []: 0}", b"\0" * 8)
    with pytest.raises(DecodeError, match="unreadable"):
        decode_array(data)


def test_forged_header_raising_typeerror_costs_only_the_attacked_function(grader, tmp_path):
    result = grader.grade(Submission("typeerror", attack("forged-npy-typeerror", tmp_path / "s"), None))
    assert_only_attacked_fail(result, {"softmax_jacobian"}, {"wrong-shape"})


def test_a_remembered_header_decodes_as_parsing_it_does_and_a_changed_byte_is_parsed_afresh():
    """Accepted headers are remembered by their bytes (#17): a second array with the same
    header decodes to its own values, and a header one byte away (an object dtype of the
    same length) is still refused."""
    from gradgrader.sandbox import decode

    a, b = np.arange(6.0).reshape(2, 3), -np.ones((2, 3))
    first, second = npy(a), npy(b)
    assert first[:64] == second[:64]  # the same header
    assert np.array_equal(decode_array(first), a)
    assert first[: first.index(b"\n") + 1] in decode._HEADERS
    assert np.array_equal(decode_array(second), b)
    assert decode_array(second) is not decode_array(second)  # each decoding its own array
    hostile = first.replace(b"'<f8'", b"'|O8'", 1)
    assert len(hostile) == len(first)
    with pytest.raises(DecodeError, match="not numeric"):
        decode_array(hostile)
    with pytest.raises(DecodeError, match="bytes but shape"):
        decode_array(first[:-8])  # the data cut short: its header is a hit, its size still checked
