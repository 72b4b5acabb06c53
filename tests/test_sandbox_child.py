"""gradgrader/sandbox/_child.py, loaded by path as the zygote loads it: what the child
reports of a student's functions and how it encodes what they return (#17's shortcuts
give exactly what the long way gives)."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_by_path

from gradgrader.sandbox.decode import decode_array

CHILD = Path(__file__).resolve().parents[1] / "gradgrader" / "sandbox" / "_child.py"


@pytest.fixture(scope="module")
def child() -> ModuleType:
    return load_by_path(CHILD, "_child_under_test")


def _by_inspect(fn) -> dict:
    params = inspect.signature(fn).parameters.values()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return {
        "required": sum(p.default is p.empty and p.kind in positional for p in params),
        "positional": sum(p.kind in positional for p in params),
        "varargs": any(p.kind == p.VAR_POSITIONAL for p in params),
    }


SOURCES = """
def a(x, y, z=1): pass
def b(*args): pass
def c(x, /, y, *, k, **kw): pass
def d(x, y=2, *rest, z=3): pass
def e(): pass
def f(x, y, z=1, *, w): pass
lam = lambda q, r=1: q
async def g(x): pass
def h(x, y): pass
h.__defaults__ = (0,)
"""


def test_a_plain_functions_arity_read_from_its_code_is_what_inspect_says(child):
    ns: dict = {}
    exec(SOURCES, ns)  # noqa: S102 - test functions
    functions = {k: v for k, v in ns.items() if k != "__builtins__"}
    for name, fn in functions.items():
        assert child._plain_arity(fn) == _by_inspect(fn), name
        described = child._describe(_module(fn, name), [name])[name]
        assert described == {"defined": True, "callable": True, **_by_inspect(fn)}, name


def _module(fn, name: str) -> ModuleType:
    m = ModuleType("student")
    setattr(m, name, fn)
    return m


def test_anything_but_a_plain_function_goes_through_inspect(child):
    def base(x, y, z=1):
        return x

    @functools.wraps(base)
    def wrapped(*args):
        return base(*args)

    class Model:
        def __init__(self, w, x):
            pass

    signed = lambda *a: 0  # noqa: E731
    signed.__signature__ = inspect.signature(base)  # type: ignore[attr-defined]
    for fn in (functools.partial(base, 1), wrapped, Model, print, signed, np.sum):
        assert child._plain_arity(fn) is None
    # …and _describe still answers for them as inspect does (wrapped: base's signature).
    for name, fn in {"wrapped": wrapped, "partial": functools.partial(base, 1), "Model": Model, "signed": signed}.items():
        got = child._describe(_module(fn, name), [name])[name]
        assert {k: got[k] for k in ("required", "positional", "varargs")} == _by_inspect(fn), name


@pytest.mark.parametrize(
    "value",
    [np.float64(2.5), np.arange(6.0).reshape(2, 3), np.ones((2, 3), dtype=np.float32), np.ones((3, 2)).T, np.zeros((0, 4)), np.array(7.0)],
)
def test_an_encoded_output_decodes_to_the_same_numbers_the_second_time_too(child, value):
    for _ in range(2):  # the second time the header comes from the child's table
        data = child._npy(np.asarray(value))
        assert np.array_equal(decode_array(data), np.asarray(value, dtype=np.float64))
        assert decode_array(data).shape == np.shape(value)


def test_one_requests_calls_each_get_a_fresh_copy_of_an_array_read_once(child, monkeypatch):
    """An array argument is read from the request's bytes once and copied for each call
    (#17): every call gets its own writeable array, equal to what decoding it alone
    gives, and one call's changes never reach the next. Anything but an array (a number,
    a course object, whose factory may arm a course helper) is decoded for each call;
    a spec that does not decode fails each call that uses it."""
    X = np.arange(12.0).reshape(3, 4)
    blobs = [X.tobytes()]
    spec = {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [3, 4]}
    number = {"kind": "float", "value": 0.5}
    made = []
    monkeypatch.setattr(child, "_decode_arg", lambda s, b: made.append(s) or 0.5)
    decode = child._request_decoder(blobs)
    one, two = decode(spec), decode(spec)
    assert one is not two and one.flags.writeable and two.flags.writeable
    assert np.array_equal(one, X) and np.array_equal(two, X)
    one[0, 0] = 99.0
    assert decode(spec)[0, 0] == 0.0
    assert decode(number) == 0.5 and decode(number) == 0.5 and made == [number, number]
    broken = {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [5, 5]}  # 25 floats from 12
    for _ in range(2):
        with pytest.raises(ValueError):
            decode(broken)


class _Sink:
    def __init__(self) -> None:
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def test_a_reply_is_sent_as_the_same_bytes_with_its_header_encoded_once(child):
    """``_send_result`` (#17) writes exactly what ``wire.send`` of the result message
    writes, the first time and from its table of encoded headers: clean replies of every
    shape (an array, a skipped output — never taken for array index 1 —, a descent's
    ``more``), and replies it does not keep (an error, an output that failed)."""
    wire = load_by_path(CHILD.with_name("_wire.py"), "_wire_under_test")
    child.wire = wire
    replies = [
        {"ok": True, "outputs": [{"type": "float", "blob": 0}, {"type": "numpy.ndarray", "blob": 1}]},
        {"ok": True, "outputs": [{"type": "float", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}]},
        {"ok": True, "outputs": [{"type": "float", "skipped": True}, {"type": "numpy.ndarray", "blob": 0}]},
        {"ok": True, "outputs": [{"type": "list", "error": {"kind": "wrong-type", "message": "no"}}]},
        {"ok": False, "error": {"type": "ValueError", "message": "bad", "kind": "exception"}},
    ]
    blobs = [[b"a", b"bb"], [b"a"], [b"cc"], [], []]
    for _ in range(2):  # the second time, clean headers come from the table
        for reply, data in zip(replies, blobs):
            for more in (None, True, False):
                ours, theirs = _Sink(), _Sink()
                child._send_result(ours, reply, data, more)
                message = {"op": "result", "result": reply} if more is None else {"op": "result", "result": reply, "more": more}
                wire.send(theirs, message, data)
                assert ours.sent == theirs.sent, (reply, more)
    assert len(child._RESULT_HEADERS) == 9  # the three clean replies, each with three kinds of "more"


@pytest.mark.parametrize("value", [1.5, 3, np.float64(1.0), np.ones(2), [1.0], (1.0,), None, _Sink()])
def test_a_returned_values_type_name_is_the_same_the_second_time(child, value):
    kind = type(value)
    expected = (kind.__module__ + "." + kind.__qualname__).replace("builtins.", "")
    assert child._type_name(value) == expected
    assert child._type_name(value) == expected  # from the child's table


def _served(child: ModuleType, requests: list[tuple[dict, list[bytes]]]) -> bytes:
    """What ``_serve_calls`` of ``child`` sends for ``requests`` (then the socket closes)."""
    import types

    wire = load_by_path(CHILD.with_name("_wire.py"), f"_wire_for_{id(child)}")
    child.wire = wire
    incoming = _Sink()
    for header, blobs in requests:
        wire.send(incoming, header, blobs)

    class Socket(_Sink):
        def recv(self, n: int) -> bytes:
            out = incoming.sent[:n]
            incoming.sent = incoming.sent[n:]
            return out

    module = types.ModuleType("student")

    def loss(W, X, y, reg):
        return float(np.sum(W * W)) * reg + float(np.sum(X)), 2 * reg * W

    def boom(W, X, y, reg):
        raise ValueError("no")

    module.__dict__.update(loss=loss, boom=boom)
    sock = Socket()
    child._serve_calls(sock, module, "softmax.py", 1 << 20)
    return sock.sent


def test_a_warmed_up_zygotes_children_send_the_same_bytes(tmp_path):
    """``warm_up`` (#17: run in a batch's zygote before its first fork) leaves nothing
    that changes a reply: the same requests get the same bytes from a child module that
    warmed up and from a fresh one — calls with every output or only some, a call that
    raises, a descent, shapes the warm-up used and others."""
    W, X, y = np.full((3, 4), 0.2), np.arange(20.0).reshape(5, 4), np.arange(5) % 3
    W2 = np.ones((2, 7))
    blobs = [W.tobytes(), X.tobytes(), y.astype("<i8").tobytes(), W2.tobytes(), np.ones((5, 7)).tobytes()]
    table = [
        {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [3, 4]},
        {"kind": "array", "blob": 1, "dtype": "<f8", "shape": [5, 4]},
        {"kind": "array", "blob": 2, "dtype": "<i8", "shape": [5]},
        {"kind": "float", "value": 0.1},
        {"kind": "array", "blob": 3, "dtype": "<f8", "shape": [2, 7]},
        {"kind": "array", "blob": 4, "dtype": "<f8", "shape": [5, 7]},
    ]
    requests = [
        ({"op": "calls", "function": "loss", "outputs": ["loss", "dW"], "args": table, "calls": [[0, 1, 2, 3]] * 3}, blobs),
        ({"op": "calls", "function": "loss", "outputs": ["loss", "dW"], "args": table, "calls": [[4, 5, 2, 3]] * 2,
          "want": ["loss"]}, blobs),
        ({"op": "calls", "function": "boom", "outputs": ["loss", "dW"], "args": table, "calls": [[0, 1, 2, 3]]}, blobs),
        ({"op": "descend", "call": {"function": "loss", "args": table[:4], "outputs": ["loss", "dW"]}, "variable": 0,
          "gradient": "dW", "rate": 0.5, "steps": 4, "shapes": [[], [3, 4]]}, blobs),
    ]
    fresh = load_by_path(CHILD, "_child_fresh")
    warmed = load_by_path(CHILD, "_child_warmed")
    warmed.wire = load_by_path(CHILD.with_name("_wire.py"), "_wire_warmed")
    warmed.warm_up()
    assert warmed._RESULT_HEADERS and warmed._TYPE_NAMES  # it did run the call path
    assert _served(warmed, requests) == _served(fresh, requests)
