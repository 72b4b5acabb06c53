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


def _raw(msg: dict) -> bytes:
    from gradgrader.sandbox import _wire

    return _wire._encode({"op": "result", "result": msg}).encode()


@pytest.mark.parametrize(
    "outs, blobs, want",
    [
        ([{"type": "f", "blob": 0}, {"type": "a", "blob": 1}], 2, ["loss"]),
        ([{"type": "f", "blob": 0}, {"type": "a", "skipped": True}], 2, None),
        ([{"type": "f", "blob": 0}, {"type": "a", "blob": 0}], 2, None),
        ([{"type": "f", "blob": 1}, {"type": "a", "blob": 2}], 2, None),
    ],
)
def test_a_refused_reply_is_refused_again_with_its_header_bytes_given(proc, outs, blobs, want):
    """Replies are checked once per header's bytes only when they were clean (#17): a
    refused one is refused every time."""
    msg = {"ok": True, "outputs": outs}
    for _ in range(2):
        got = proc._parse(msg, ["loss", "dW"], [b"not even npy"] * blobs, 0.0, want, _raw(msg))
        assert isinstance(got, Problem) and got.kind == "crashed" and "not asked for" in got.message


def test_a_clean_reply_checked_once_still_has_every_later_array_decoded_and_capped(proc):
    """The same header's later replies skip the checks their bytes decide, not the
    decoding: each gets its own arrays, the caps still count, and a reply whose array
    does not decode says so."""
    from gradgrader.sandbox import process

    process._CLEAN_REPLIES.clear()
    msg = {"ok": True, "outputs": [{"type": "numpy.float64", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}]}
    raw = _raw(msg)
    first = proc._parse(msg, ["loss", "dW"], [_npy(np.float64(1.5))], 0.0, ["loss"], raw)
    assert len(process._CLEAN_REPLIES) == 1
    second = proc._parse(msg, ["loss", "dW"], [_npy(np.float64(-2.0))], 0.0, ["loss"], raw)
    assert isinstance(first, Returned) and isinstance(second, Returned)
    assert float(first.values[0]) == 1.5 and float(second.values[0]) == -2.0
    assert second.values[1] is None and second.types == ("numpy.float64", "numpy.ndarray")
    broken = proc._parse(msg, ["loss", "dW"], [b"not npy"], 0.0, ["loss"], raw)
    assert isinstance(broken, Returned) and broken.problems[0] is not None and broken.problems[0].kind == "wrong-type"
    proc.decode_left = 4  # the submission's decoding budget is spent
    spent = proc._parse(msg, ["loss", "dW"], [_npy(np.float64(3.0))], 0.0, ["loss"], raw)
    assert isinstance(spent, Returned) and spent.problems[0] is not None and spent.problems[0].kind == "too-large"
    # The same bytes with another list of wants (or outputs, or of arrays) are checked afresh.
    proc.decode_left = 1 << 30
    assert isinstance(proc._parse(msg, ["loss", "dW"], [_npy(np.float64(1.0))], 0.0, None, raw), Returned)
    assert isinstance(proc._parse(msg, ["loss", "dW"], [_npy(np.float64(1.0))] * 2, 0.0, None, raw), Problem)
    assert len(process._CLEAN_REPLIES) == 2
    process._CLEAN_REPLIES.clear()


def test_a_reply_with_a_problem_is_never_remembered_so_no_two_calls_share_one(proc):
    """A call's problem is its own object (the session tells a time-out from the calls
    skipped after it by identity)."""
    from gradgrader.sandbox import process

    process._CLEAN_REPLIES.clear()
    msg = {"ok": True, "outputs": [{"type": "f", "error": {"kind": "wrong-type", "message": "loss: no"}},
                                   {"type": "a", "blob": 0}]}
    one = proc._parse(msg, ["loss", "dW"], [_npy(np.ones(2))], 0.0, None, _raw(msg))
    two = proc._parse(msg, ["loss", "dW"], [_npy(np.ones(2))], 0.0, None, _raw(msg))
    assert isinstance(one, Returned) and isinstance(two, Returned)
    assert one.problems[0] == two.problems[0] and one.problems[0] is not two.problems[0]
    assert not process._CLEAN_REPLIES


# Runs of replies alike but for their numbers (#17) ------------------------------------


def _reader_proc(sock) -> StudentProcess:
    """A StudentProcess reading replies from ``sock`` (no process behind it)."""
    from gradgrader.sandbox import _wire as wire

    p = object.__new__(StudentProcess)
    p.sock, p._reader, p.dead = sock, wire.Reader(sock), False
    p._max_msg, p._max_blob, p._max_elements = 128 << 20, 1 << 24, 1 << 21
    p.decode_left = 1 << 30
    p._last_reply, p._like = None, None
    return p


def _frames(replies: list[tuple[dict, list[bytes]]], more: bool | None = None) -> bytes:
    from gradgrader.sandbox import _wire as wire

    out = b""
    for reply, blobs in replies:
        message = {"op": "result", "result": reply} if more is None else {"op": "result", "result": reply, "more": more}
        out += wire.frame(wire.encode_header(message), blobs)
    return out


def _read_all(payload: bytes, n: int, outputs: list[str], want: list[str] | None, alike: bool, budget: int = 1 << 30):
    """Every reply of ``payload`` as the grader reads it, with or without runs read alike."""
    import socket

    from gradgrader.sandbox import process

    a, b = socket.socketpair()
    try:
        a.sendall(payload)
        proc = _reader_proc(b)
        proc.decode_left = budget
        real = process._Like.of
        if not alike:
            process._Like.of = classmethod(lambda cls, *args: None)  # type: ignore[method-assign]
        try:
            got = [proc._reply(outputs, 5.0, None, want) for _ in range(n)]
        finally:
            process._Like.of = real  # type: ignore[method-assign]
        return got, proc
    finally:
        a.close()
        b.close()


def _same(x, y) -> bool:
    (rx, mx), (ry, my) = x, y
    if mx != my or type(rx) is not type(ry):
        return False
    if isinstance(rx, Problem):
        return rx == ry
    return rx.types == ry.types and rx.problems == ry.problems and all(
        (a is None and b is None) or (a is not None and b is not None and a.dtype == b.dtype and a.shape == b.shape
                                      and np.array_equal(a, b, equal_nan=True) and a.flags.writeable == b.flags.writeable)
        for a, b in zip(rx.values, ry.values)
    )


def _loss_reply(value) -> tuple[dict, list[bytes]]:
    return {"ok": True, "outputs": [{"type": "float", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}]}, [_npy(np.float64(value))]


def _step_reply(loss, dW) -> tuple[dict, list[bytes]]:
    return {"ok": True, "outputs": [{"type": "numpy.float64", "blob": 0}, {"type": "numpy.ndarray", "blob": 1}]}, [_npy(np.float64(loss)), _npy(dW)]


def test_a_run_of_replies_alike_is_read_as_the_full_path_reads_each():
    rng = np.random.default_rng(7)
    values = [*rng.standard_normal(30), np.nan, np.inf, -0.0, 1e308]
    payload = _frames([_loss_reply(v) for v in values])
    fast, proc = _read_all(payload, len(values), ["loss", "dW"], ["loss"], alike=True)
    full, other = _read_all(payload, len(values), ["loss", "dW"], ["loss"], alike=False)
    assert proc._like is not None  # the run was read alike
    assert all(_same(x, y) for x, y in zip(fast, full))
    assert proc.decode_left == other.decode_left  # the same budget taken
    steps = [_step_reply(rng.standard_normal(), rng.standard_normal((5, 12))) for _ in range(12)]
    fast, _ = _read_all(_frames(steps, more=True), 12, ["loss", "dW"], None, alike=True)
    full, _ = _read_all(_frames(steps, more=True), 12, ["loss", "dW"], None, alike=False)
    assert all(_same(x, y) for x, y in zip(fast, full)) and all(more for _, more in fast)


def test_a_reply_that_differs_anywhere_but_in_its_numbers_takes_the_full_path():
    """Another type name, another shape, a float32 array, an error, a header with another
    field: each is read (and refused, where it is refused) exactly as without runs."""
    run = [_loss_reply(float(i)) for i in range(4)]
    odd = [
        ({"ok": True, "outputs": [{"type": "numpy.float64", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}]}, [_npy(np.float64(1))]),
        ({"ok": True, "outputs": [{"type": "float", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}]}, [_npy(np.ones(1))]),
        ({"ok": True, "outputs": [{"type": "float", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}]}, [_npy(np.float32(1))]),
        ({"ok": False, "error": {"kind": "exception", "message": "ValueError: no"}}, []),
        ({"ok": True, "outputs": [{"type": "float", "blob": 0}, {"type": "numpy.ndarray", "skipped": True}], "x": 1}, [_npy(np.float64(2))]),
        ({"ok": True, "outputs": [{"type": "float", "blob": 1}, {"type": "numpy.ndarray", "skipped": True}]}, [_npy(np.float64(2))]),
    ]
    replies = run + [r for o in odd for r in (o, *run)]
    payload = _frames(replies)
    fast, proc = _read_all(payload, len(replies), ["loss", "dW"], ["loss"], alike=True)
    full, _ = _read_all(payload, len(replies), ["loss", "dW"], ["loss"], alike=False)
    assert all(_same(x, y) for x, y in zip(fast, full))
    assert any(isinstance(r, Problem) for r, _ in fast)  # the error and the misnamed array


def test_near_the_end_of_the_decoding_budget_every_reply_takes_the_full_path():
    """The cap's own refusal, worded as always, comes from the full path."""
    replies = [_step_reply(float(i), np.ones((40, 40))) for i in range(6)]
    budget = 3 * (8 + 40 * 40 * 8) + 100
    fast, _ = _read_all(_frames(replies), 6, ["loss", "dW"], None, alike=True, budget=budget)
    full, _ = _read_all(_frames(replies), 6, ["loss", "dW"], None, alike=False, budget=budget)
    assert all(_same(x, y) for x, y in zip(fast, full))
    assert any(p is not None for r, _ in fast if isinstance(r, Returned) for p in r.problems)  # the cap reached


def test_a_reply_not_yet_whole_is_left_for_the_full_path_to_wait_for():
    import socket

    replies = [_loss_reply(float(i)) for i in range(5)]
    payload = _frames(replies)
    a, b = socket.socketpair()
    try:
        proc = _reader_proc(b)
        a.sendall(payload[: len(payload) - 5])  # the last reply cut short
        got = [proc._reply(["loss", "dW"], 5.0, None, ["loss"]) for _ in range(4)]
        assert [float(r.values[0]) for r, _ in got] == [0.0, 1.0, 2.0, 3.0]
        reader, like = proc._reader, proc._like
        assert like is not None and 0 < len(reader.buf) - reader.pos < like.size  # part of it is here
        held = (bytes(reader.buf), reader.pos, proc.decode_left)
        assert like.take(proc) is None  # not read alike, nothing taken
        assert (bytes(reader.buf), reader.pos, proc.decode_left) == held
        a.sendall(payload[len(payload) - 5 :])
        last, _ = proc._reply(["loss", "dW"], 5.0, None, ["loss"])
        assert isinstance(last, Returned) and float(last.values[0]) == 4.0
    finally:
        a.close()
        b.close()
