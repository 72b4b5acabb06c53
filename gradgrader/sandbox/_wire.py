"""Message framing between the grader and its sandboxed processes (stdlib only).

This file is loaded by path inside the sandbox as well, so it imports nothing of
gradgrader. A message is a JSON header plus a list of binary blobs::

    <u32 header length> <u32 blob count> header-json  (<u64 length> blob)*

The reader enforces caps on every length before it allocates, so a hostile peer
cannot make the grader allocate more than ``max_total`` bytes for one message.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from collections.abc import Callable

_HEAD = struct.Struct("<II")
_BLOB = struct.Struct("<Q")

MAX_HEADER = 1 << 20  # 1 MiB of JSON is far more than any honest message needs
MAX_BLOBS = 4096  # a batch of calls carries a few arrays per call


# One encoder and one decoder for every message (json.dumps with separators would make
# an encoder per call). Headers are UTF-8 JSON (ASCII, as encoded here).
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


class WireError(Exception):
    """The peer sent something that is not a well-formed message within the caps."""


def send(sock: socket.socket, header: dict, blobs: list[bytes] | tuple[bytes, ...] = (), fds: list[int] | None = None) -> None:
    send_encoded(sock, encode_header(header), blobs, fds)


def encode_header(header: dict) -> bytes:
    """A message's header as :func:`send` writes it."""
    return _encode(header).encode()


def frame(data: bytes, blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """A whole message as :func:`send_encoded` writes it: the encoded header ``data``
    (:func:`encode_header`) and the blobs, framed."""
    parts = [_HEAD.pack(len(data), len(blobs)), data]
    for blob in blobs:
        parts.append(_BLOB.pack(len(blob)))
        parts.append(blob)
    return b"".join(parts)


def send_framed(sock: socket.socket, payload: bytes) -> None:
    """Send a whole message made by :func:`frame`."""
    sock.sendall(payload)


def send_encoded(
    sock: socket.socket, data: bytes, blobs: list[bytes] | tuple[bytes, ...] = (), fds: list[int] | None = None
) -> None:
    """:func:`send` with the header already encoded (:func:`encode_header`)."""
    payload = frame(data, blobs)
    if fds:
        # Send the descriptors with the first byte, the rest as a plain stream.
        socket.send_fds(sock, [payload[:1]], fds)
        sock.sendall(payload[1:])
    else:
        sock.sendall(payload)


def _wait(sock: socket.socket, deadline: float | None) -> None:
    """Before each read: the time left until ``deadline`` (``time.monotonic``) becomes
    the socket's time-out, so a peer that trickles bytes cannot stretch a message
    past it."""
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the message did not arrive in time")
        sock.settimeout(left)


def _recv_exact(sock: socket.socket, n: int, first: bytes = b"", deadline: float | None = None) -> bytes:
    buf = bytearray(first)
    while len(buf) < n:
        _wait(sock, deadline)
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("peer closed the connection")
        buf += chunk
    return bytes(buf)


def recv(
    sock: socket.socket,
    max_total: int = 256 << 20,
    with_fds: int = 0,
    max_blob: int | None = None,
    deadline: float | None = None,
) -> tuple[dict, list[bytes], list[int]]:
    """Read one message. Raises EOFError on a closed peer, WireError on a malformed one,
    TimeoutError if the whole message has not arrived by ``deadline`` (``time.monotonic``;
    without one, the socket's own time-out applies to each read). Reads exactly the
    message's bytes (see :class:`Reader` for a buffered reader)."""
    fds: list[int] = []
    first = [b""]
    if with_fds:
        _wait(sock, deadline)
        msg, fds, _flags, _addr = socket.recv_fds(sock, 1, with_fds)
        if not msg:
            raise EOFError("peer closed the connection")
        first = [msg]

    def take(n: int) -> bytes:
        got = _recv_exact(sock, n, first[0], deadline)
        first[0] = b""
        return got

    header, blobs = _parse(take, max_total, max_blob)
    return header, blobs, fds


_MORE = object()  # a message not all in the buffer yet


class Reader:
    """Messages from one socket, read in pieces of up to 64 KiB: a small message (or
    several replies sent back to back) costs one system call instead of one per field.
    Bytes read past a message stay here for the next; the caps are checked as in
    :func:`recv`, before any large read. The child reads its requests with one too."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0  # bytes of ``buf`` already handed out (dropped when more is read)
        self.raw = b""  # the header bytes of the last message read
        self._poller: select.poll | None = None  # for reads by a deadline (see _recv_by)

    def recv(
        self, max_total: int = 256 << 20, max_blob: int | None = None, deadline: float | None = None,
        remember: bool = False,
    ) -> tuple[dict, list[bytes]]:
        """The next message. ``remember``: a ``result`` header is decoded once per bytes
        and shared (:data:`RESULT_HEADERS`): only for a caller that never changes it (the
        grader reading a student's reply to a call)."""
        whole = self._buffered(max_total, max_blob, remember)
        if whole is _MORE and len(self.buf) - self.pos < 1 << 12:
            # Not here yet (a reply the grader waits for): one read usually brings all of it.
            self._read_more(deadline)
            whole = self._buffered(max_total, max_blob, remember)
        if isinstance(whole, tuple):
            return whole
        header, blobs, self.raw = _parse_raw(lambda n: self.take(n, deadline), max_total, max_blob, remember)
        return header, blobs

    def _read_more(self, deadline: float | None, size: int = 1 << 16) -> None:
        """One read of up to ``size`` bytes from the socket into the buffer, the bytes
        handed out dropped first (EOFError if the peer closed it)."""
        del self.buf[: self.pos]
        self.pos = 0
        chunk = self.sock.recv(size) if deadline is None else self._recv_by(size, deadline)
        if not chunk:
            raise EOFError("peer closed the connection")
        self.buf += chunk

    def _recv_by(self, size: int, deadline: float) -> bytes:
        """One read of up to ``size`` bytes, as :func:`_wait` and a read with the time
        left would make it (TimeoutError once ``deadline`` has passed, checked before each
        read), without changing the socket's mode for each one: the socket is left
        non-blocking, the bytes already there are read at once and only a read that would
        block waits in ``poll``. A reply that came while the grader worked on the one
        before costs one system call instead of three (#17)."""
        sock = self.sock
        if sock.gettimeout() != 0.0:
            sock.settimeout(0.0)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the message did not arrive in time")
            try:
                return sock.recv(size)
            except BlockingIOError:
                pass
            if self._poller is None:
                self._poller = select.poll()  # not select(): descriptor numbers above 1023 are fine
                self._poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
            self._poller.poll(max(1, int(left * 1000) + 1))

    def _buffered(self, max_total: int, max_blob: int | None, remember: bool) -> tuple[dict, list[bytes]] | object | None:
        """The next message when the buffer holds all of it and it is well-formed within
        the caps, read in one pass (#17: a reply's fields were four reads); else
        :data:`_MORE` if it is only incomplete so far, or None if it is not well-formed —
        nothing consumed either way: :func:`_parse_raw` reads it (and says what is wrong)."""
        buf, pos = self.buf, self.pos
        end = len(buf)
        if end - pos < _HEAD.size:
            return _MORE
        hlen, nblobs = _HEAD.unpack_from(buf, pos)
        if hlen > MAX_HEADER or nblobs > MAX_BLOBS:
            return None
        at = pos + _HEAD.size + hlen
        spans = []
        total = 0
        for _ in range(nblobs):
            if at + _BLOB.size > end:
                return _MORE
            (size,) = _BLOB.unpack_from(buf, at)
            total += size
            if (max_blob is not None and size > max_blob) or total > max_total:
                return None
            at += _BLOB.size
            if at + size > end:
                return _MORE
            spans.append((at, size))
            at += size
        if at > end:
            return _MORE
        raw = bytes(buf[pos + _HEAD.size : pos + _HEAD.size + hlen])
        try:
            header = _header(raw, remember)
        except WireError:
            return None
        self.pos, self.raw = at, raw
        return header, [_bytes(buf, a, n) for a, n in spans]

    def take(self, n: int, deadline: float | None = None) -> bytes:
        """The next ``n`` bytes. Handed-out bytes are dropped only when the buffer must
        grow: 80 short replies read in one piece cost one copy each, not a shift of
        the whole rest of the buffer each (#17)."""
        while len(self.buf) - self.pos < n:
            self._read_more(deadline, min(max(n - (len(self.buf) - self.pos), 1 << 16), 1 << 20))
        start = self.pos
        self.pos = start + n
        return _bytes(self.buf, start, n)


def _bytes(buf: bytearray, start: int, n: int) -> bytes:
    """``bytes(buf[start:start + n])``, a large array's in one copy."""
    if n < 4096:
        return bytes(buf[start : start + n])
    with memoryview(buf) as view:
        return bytes(view[start : start + n])


# Decoded headers of ``result`` messages by their bytes, for reads that ``remember``:
# a student's replies repeat a few (every finite-difference point's reply is the same
# header). Decoding depends on the bytes alone; at most RESULT_HEADERS_KEPT short ones are
# kept (then none are added), each shared by every reply with those bytes: never changed.
RESULT_HEADERS: dict[bytes, dict] = {}
RESULT_HEADERS_KEPT = 1024
RESULT_HEADER_BYTES = 1024  # longer headers (an error's message) are decoded each time


def _header(raw: bytes, remember: bool) -> dict:
    """The JSON object in ``raw`` (WireError if it is not one)."""
    if remember:
        hit = RESULT_HEADERS.get(raw)
        if hit is not None:
            return hit
    try:
        header = _decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"message header is not JSON: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise WireError("message header is not a JSON object")
    if (remember and header.get("op") == "result" and len(raw) <= RESULT_HEADER_BYTES
            and len(RESULT_HEADERS) < RESULT_HEADERS_KEPT):
        RESULT_HEADERS[raw] = header
    return header


def _parse(take: Callable[[int], bytes], max_total: int, max_blob: int | None) -> tuple[dict, list[bytes]]:
    """One message, from ``take(n)`` (the next ``n`` bytes)."""
    header, blobs, _ = _parse_raw(take, max_total, max_blob)
    return header, blobs


def _parse_raw(
    take: Callable[[int], bytes], max_total: int, max_blob: int | None, remember: bool = False
) -> tuple[dict, list[bytes], bytes]:
    """:func:`_parse`, with the header's bytes."""
    hlen, nblobs = _HEAD.unpack(take(_HEAD.size))
    if hlen > MAX_HEADER or nblobs > MAX_BLOBS:
        raise WireError(f"message header too large ({hlen} bytes, {nblobs} blobs)")
    raw = take(hlen)
    header = _header(raw, remember)
    blobs: list[bytes] = []
    total = 0
    for _ in range(nblobs):
        (size,) = _BLOB.unpack(take(_BLOB.size))
        if max_blob is not None and size > max_blob:
            raise WireError(f"a {size}-byte array is over the {max_blob}-byte cap")
        total += size
        if total > max_total:
            raise WireError(f"message larger than the {max_total >> 20} MiB cap")
        blobs.append(take(size))
    return header, blobs, raw
