"""The sandbox's message framing (gradgrader/sandbox/_wire.py): the buffered Reader the
grader reads replies with and the child reads requests with."""

from __future__ import annotations

import socket

import pytest

from gradgrader.sandbox import _wire as wire


class Recorded:
    """A socket stand-in: ``sendall`` records the bytes, ``recv`` hands them out at most
    ``piece`` at a time and counts its calls (deterministic, unlike a socket's buffer)."""

    def __init__(self, piece: int = 1 << 20) -> None:
        self.data, self.piece, self.calls = bytearray(), piece, 0

    def sendall(self, data: bytes) -> None:
        self.data += data

    def recv(self, n: int) -> bytes:
        self.calls += 1
        out = bytes(self.data[: min(n, self.piece)])
        del self.data[: len(out)]
        return out

    def settimeout(self, t: float | None) -> None:
        pass


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    return a, b


def test_back_to_back_messages_are_read_in_a_few_system_calls_and_each_whole():
    sent = [({"op": "result", "i": i}, [bytes([i % 256]) * (i + 1), b"x" * 3]) for i in range(80)]
    sock = Recorded()
    for header, blobs in sent:
        wire.send(sock, header, blobs)  # type: ignore[arg-type]
    reader = wire.Reader(sock)  # type: ignore[arg-type]
    for header, blobs in sent:
        assert reader.recv() == (header, blobs)
    # 80 short replies (~8 KB) come in one 64 KiB read, and the end is seen once more:
    # reading field by field would be 80 × 5 reads.
    assert sock.calls == 1, sock.calls
    with pytest.raises(EOFError):
        reader.recv()


def test_a_message_larger_than_one_read_and_one_trickled_byte_by_byte_arrive_whole():
    big = bytes(range(256)) * 1200  # 300 KiB: several reads
    for piece in (1, 1000, 1 << 20):
        sock = Recorded(piece)
        wire.send(sock, {"op": "big"}, [big, b"tail"])  # type: ignore[arg-type]
        wire.send(sock, {"op": "next"}, [b"z" * 10])  # type: ignore[arg-type]
        reader = wire.Reader(sock)  # type: ignore[arg-type]
        assert reader.recv() == ({"op": "big"}, [big, b"tail"])
        assert reader.recv() == ({"op": "next"}, [b"z" * 10])


def test_a_reader_keeps_the_bytes_of_the_next_message_and_reports_a_closed_peer():
    a, b = _pair()
    wire.send(a, {"n": 1}, [b"a"])
    wire.send(a, {"n": 2}, [])
    reader = wire.Reader(b)
    assert reader.recv() == ({"n": 1}, [b"a"])
    a.close()
    assert reader.recv() == ({"n": 2}, [])
    with pytest.raises(EOFError):
        reader.recv()


def test_a_blob_over_the_cap_is_refused_before_it_is_read():
    a, b = _pair()
    wire.send(a, {"op": "result"}, [b"x" * 5000])
    with pytest.raises(wire.WireError, match="5000-byte array is over the 4096-byte cap"):
        wire.Reader(b).recv(max_blob=4096)


def test_a_message_that_does_not_arrive_by_the_deadline_times_out():
    import time

    a, b = _pair()
    head = wire._HEAD.pack(10, 0)
    a.sendall(head + b'{"op"')  # half a header, then nothing
    with pytest.raises(TimeoutError):
        wire.Reader(b).recv(deadline=time.monotonic() + 0.2)


MESSAGES = [
    ({"op": "result", "result": {"ok": True}}, [b"a" * 10, b"", b"b" * 5000]),
    ({"op": "ready", "n": 1}, []),
    ({"op": "result", "more": True}, [b"x" * 70000]),
]


@pytest.mark.parametrize("piece", [1 << 20, 7])
def test_a_message_read_whole_from_the_buffer_is_what_reading_it_field_by_field_gives(piece: int) -> None:
    """The fast path (the whole message already read, #17) and the field-by-field path
    (bytes still to come, ``piece`` at a time) give the same messages and header bytes."""
    sock = Recorded(piece)
    for header, blobs in MESSAGES:
        wire.send(sock, header, blobs)  # type: ignore[arg-type]
    reader = wire.Reader(sock)  # type: ignore[arg-type]
    for header, blobs in MESSAGES:
        assert reader.recv() == (header, blobs)
        assert reader.raw == wire._encode(header).encode()
    with pytest.raises(EOFError):
        reader.recv()


@pytest.mark.parametrize(
    "frame, error",
    [
        (wire._HEAD.pack(wire.MAX_HEADER + 1, 0), "too large"),
        (wire._HEAD.pack(2, 0) + b"[]", "not a JSON object"),
        (wire._HEAD.pack(2, 0) + b"{x", "not JSON"),
        (wire._HEAD.pack(2, 1) + b"{}" + wire._BLOB.pack(1 << 30) + b"x", "over the"),
    ],
)
def test_a_malformed_message_in_the_buffer_is_refused_as_before(frame: bytes, error: str) -> None:
    sock = Recorded()
    sock.sendall(frame + b"\0" * 64)  # all of it read at once: the fast path sees it first
    with pytest.raises(wire.WireError, match=error):
        wire.Reader(sock).recv(max_blob=1 << 20)  # type: ignore[arg-type]


def test_only_result_headers_are_remembered_by_their_bytes_and_only_when_asked() -> None:
    """A student's replies repeat a few headers (#17): a read that remembers decodes each
    once; other messages, long headers, and reads that do not remember (the grader's
    read of a load report, whose parts it keeps) are decoded every time."""
    wire.RESULT_HEADERS.clear()
    result = {"op": "result", "result": {"ok": True, "outputs": [{"type": "float", "blob": 0}]}}
    long = {"op": "result", "result": {"ok": False, "error": {"message": "x" * 2000}}}
    sock = Recorded()
    for header in (result, result, {"op": "loaded", "ok": True}, {"op": "loaded", "ok": True}, long, long):
        wire.send(sock, header, [b"1"] if header is result else [])  # type: ignore[arg-type]
    plain = Recorded()
    wire.send(plain, result, [b"1"])  # type: ignore[arg-type]
    wire.Reader(plain).recv()  # type: ignore[arg-type]
    assert not wire.RESULT_HEADERS  # a read that does not remember keeps nothing
    reader = wire.Reader(sock)  # type: ignore[arg-type]
    got = [reader.recv(remember=True)[0] for _ in range(6)]
    assert got == [result, result, {"op": "loaded", "ok": True}, {"op": "loaded", "ok": True}, long, long]
    assert got[0] is got[1]  # decoded once
    assert got[2] is not got[3] and got[4] is not got[5]
    assert list(wire.RESULT_HEADERS.values()) == [result]
    wire.RESULT_HEADERS.clear()


def test_a_message_not_yet_read_is_read_once_and_parsed_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reply the grader waits for usually arrives in one piece: the Reader reads once
    and parses it whole (#17), not field by field."""
    sock = Recorded()
    wire.send(sock, {"op": "result", "result": {"ok": True}}, [b"x" * 100])  # type: ignore[arg-type]

    def field_by_field(*args: object, **kwargs: object) -> None:
        raise AssertionError("read field by field")

    monkeypatch.setattr(wire, "_parse_raw", field_by_field)
    assert wire.Reader(sock).recv() == ({"op": "result", "result": {"ok": True}}, [b"x" * 100])  # type: ignore[arg-type]
    assert sock.calls == 1


def test_reads_by_a_deadline_take_what_is_there_at_once_and_wait_only_when_nothing_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(#17) A reply already in the socket is read without a wait or a change of the
    socket's mode for each read; a read with nothing there waits until bytes come; a
    deadline already passed times out even with bytes there (as before: a reply read
    late is not read), and a closed peer is an EOFError. The late message is sent once
    the reader waits (no race with a timer)."""
    import threading
    import time

    real_poll = wire.select.poll
    waiting = threading.Event()
    waits: list[int] = []

    class Poll:
        def __init__(self) -> None:
            self.real = real_poll()

        def register(self, *args: object) -> None:
            self.real.register(*args)

        def poll(self, ms: int) -> list:
            waits.append(ms)
            waiting.set()
            return self.real.poll(ms)

    monkeypatch.setattr(wire.select, "poll", Poll)
    a, b = _pair()
    reader = wire.Reader(b)
    modes: list[float | None] = []
    real_settimeout = b.settimeout

    class Spy:
        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(b, name)

        def settimeout(self, value: float | None) -> None:
            modes.append(value)
            real_settimeout(value)

    reader.sock = Spy()  # type: ignore[assignment]
    for i in range(3):
        wire.send(a, {"op": "result", "i": i}, [b"x"])
    for i in range(3):
        assert reader.recv(deadline=time.monotonic() + 10) == ({"op": "result", "i": i}, [b"x"])
    assert modes == [0.0] and waits == []  # one change of mode, no wait
    later = threading.Thread(target=lambda: waiting.wait(60) and wire.send(a, {"op": "late"}, []))
    later.start()
    assert reader.recv(deadline=time.monotonic() + 60) == ({"op": "late"}, [])
    later.join()
    assert waits and modes == [0.0]
    wire.send(a, {"op": "there"}, [])
    with pytest.raises(TimeoutError):
        reader.recv(deadline=time.monotonic() - 1)
    a.close()
    assert reader.recv(deadline=time.monotonic() + 10) == ({"op": "there"}, [])
    with pytest.raises(EOFError):
        reader.recv(deadline=time.monotonic() + 10)
