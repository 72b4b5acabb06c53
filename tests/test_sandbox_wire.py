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
