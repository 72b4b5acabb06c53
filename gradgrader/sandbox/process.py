"""One running student process, as the grader sees it: send calls, read replies
within their time limits, decode the arrays under caps, and collect how it ended.

Everything that comes back is treated as hostile: messages are size-capped, arrays go
through the strict decoder, and a process that stops answering is killed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from gradgrader.sandbox import _wire as wire
from gradgrader.sandbox.decode import DecodeError, decode_array, float64_layout
from gradgrader.sandbox.encode import calls_request, encode_args
from gradgrader.sandbox.model import (
    REPLY_DECODE_CAP,
    SUBMISSION_DECODE_CAP,
    ExitInfo,
    LoadReport,
    Problem,
    Returned,
    reply_problem,
    sanitize,
)

if TYPE_CHECKING:
    from gradgrader.sandbox.runner import Sandbox


class _Drain(threading.Thread):
    """Reads a child's stdout/stderr pipe to the end, keeping only the first ``cap`` bytes.

    The pipe is non-blocking and bytes leave it only under ``_lock``: :meth:`text`
    takes whatever is still in the pipe itself, so it returns everything printed so
    far without waiting for this thread (the child flushes before each reply)."""

    def __init__(self, fd: int, cap: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.cap = fd, max(cap, 0)
        self.kept = bytearray()
        self.total = 0
        self.eof = False
        self._lock = threading.Lock()
        os.set_blocking(fd, False)

    def _take(self) -> None:
        """Move what the pipe holds now into ``kept`` (call with the lock held)."""
        while not self.eof:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                self.eof = True
                return
            if not chunk:
                self.eof = True
                return
            self.total += len(chunk)
            if len(self.kept) < self.cap:
                self.kept += chunk[: self.cap - len(self.kept)]

    def run(self) -> None:
        import select

        poller = select.poll()  # not select(): descriptors above 1024 are fine
        poller.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        try:
            while not self.eof:
                poller.poll()  # wait without the lock
                with self._lock:
                    self._take()
        finally:
            with self._lock:
                self.eof = True
                with contextlib.suppress(OSError):
                    os.close(self.fd)

    def text(self) -> str:
        with self._lock:
            self._take()
            kept, total = bytes(self.kept), self.total
        text = sanitize(kept.decode("utf-8", errors="replace"))
        if total > len(kept):
            text += f"\n[… {total - len(kept)} more bytes of output not kept]"
        return text


class StudentProcess:
    """One running student module: call its functions, then close it."""

    def __init__(self, sandbox: Sandbox, pid: int, sock: socket.socket, out_fd: int, cap: int, max_out: int) -> None:
        self.sandbox, self.pid, self.sock = sandbox, pid, sock
        self._reader = wire.Reader(sock)
        self._drain = _Drain(out_fd, cap)
        self._drain.start()
        self._max_msg = 128 << 20  # one reply, a batch of calls included
        self._max_blob = max_out + 4096  # one array: the child refuses more, so more is forged
        self.dead = False
        self.cpu_limit = 1 << 30
        # Decoded arrays are float64 whatever was sent (a bool array of n bytes becomes
        # 8n): the caps count decoded bytes, per output, per reply and per submission.
        self._max_elements = max(1, max_out // 8)
        self.decode_left = SUBMISSION_DECODE_CAP  # the Session carries it across restarts
        self.setup_failure: str | None = None  # why the sandbox failed before student code ran
        self.address_space_mb = 0
        self.exit: ExitInfo | None = None
        self.load = LoadReport(False)
        self.staged_prefix = ""  # the staged copy's folder, as the student's process sees it
        # A run of replies alike but for their numbers (a batch's finite-difference points,
        # a descent's steps) is read by _Like (#17): the last reply's shape, and its reader.
        self._last_reply: tuple | None = None
        self._like: _Like | None = None

    # -- lifecycle

    def _kill(self) -> None:
        zyg = self.sandbox._zygote
        if zyg is None or not zyg.kill_child():
            self.sandbox.close_zygote()  # the whole sandbox goes, and the child with it

    def _reap(self, timeout: float = 5.0) -> ExitInfo:
        """Collect the zygote's report of how the process ended (killing it if needed)."""
        if self.exit is not None:
            return self.exit
        with contextlib.suppress(OSError):
            self.sock.close()
        zyg = self.sandbox._zygote
        info = ExitInfo()
        if zyg is not None:
            try:
                try:
                    reply = zyg.wait_exited(timeout)
                except TimeoutError:
                    self._kill()
                    reply = zyg.wait_exited(10.0)
                cpu = reply.get("cpu_s")
                info = ExitInfo(
                    exit_code=reply.get("exit_code") if isinstance(reply.get("exit_code"), int) else None,
                    signal_name=str(reply["signal_name"])[:20] if reply.get("signal_name") else None,
                    cpu_s=float(cpu) if isinstance(cpu, (int, float)) else 0.0,
                    killed_by_grader=reply.get("killed_by_grader") is True,
                    reason=sanitize(str(reply["reason"]))[:200] if reply.get("reason") else None,
                )
            except (EOFError, OSError, wire.WireError):
                self._kill()
                self.sandbox.close_zygote()
        self.dead = True
        self.exit = info
        self._drain.join(timeout=2.0)
        return info

    def close(self) -> ExitInfo:
        return self._reap()

    def output(self) -> str:
        """The captured stdout/stderr so far (first bytes only), for display, never for
        scoring; the sandbox's staging folder is cut from paths (``softmax.py:27: …``)."""
        text = self._drain.text()
        return text.replace(self.staged_prefix, "") if self.staged_prefix else text

    @property
    def output_kept(self) -> int:
        """How many bytes of output were kept (of the cap this process was given)."""
        return len(self._drain.kept)

    # -- protocol

    def _receive(self, timeout: float, deadline: float | None = None, reply: bool = False) -> tuple[dict, list[bytes]] | Problem:
        """The next message, within ``timeout`` seconds (or by ``deadline``, if given:
        ``timeout`` is then only what the message says). ``reply``: a call's reply, read
        only by :meth:`_parse` — its header may be a remembered one, shared (#17)."""
        if deadline is None:
            deadline = time.monotonic() + max(timeout, 0.001)
        try:
            msg, blobs = self._reader.recv(max_total=self._max_msg, max_blob=self._max_blob, deadline=deadline,
                                           remember=reply)
            return msg, blobs
        except TimeoutError:
            self._kill()
            self._reap()
            return Problem("timeout", f"did not finish within {timeout:.3g} s (wall clock); stopped")
        except wire.WireError as exc:
            self._kill()
            self._reap()
            return Problem("crashed", f"sent a malformed reply ({exc})")
        except (EOFError, OSError):
            info = self._reap()
            # SIGXCPU, or SIGKILL at the hard CPU limit, is a time-out; a SIGKILL the
            # submission sent itself (or the kernel's OOM killer) is a crash.
            at_cpu_limit = info.cpu_s >= self.cpu_limit - 1.0
            if info.signal_name == "SIGXCPU" or (info.signal_name == "SIGKILL" and at_cpu_limit):
                return Problem("timeout", f"{info.describe()}: CPU time limit reached")
            return Problem("crashed", info.describe())

    def _await_setup(self, timeout: float) -> bool:
        """The child's first message, sent after its sandbox is in place and before any
        student code runs. Anything else (the process died, hung or said otherwise) is
        the sandbox's failure, recorded in ``setup_failure``."""
        try:
            msg, _ = self._reader.recv(max_total=1 << 16, max_blob=0, deadline=time.monotonic() + max(timeout, 0.001))
            if msg.get("op") == "setup" and msg.get("ok") is True:
                return True
            why = "it sent an unexpected first message"
        except TimeoutError:
            why = f"it did not finish its set-up within {timeout:.3g} s"
        except (EOFError, OSError, wire.WireError):
            why = ""
        self._kill()
        info = self._reap()
        if not why:
            why = (f"killed by {info.signal_name}" if info.signal_name
                   else f"exit status {info.exit_code}" if info.exit_code is not None else "the sandbox stopped")
        said = [line for line in self._drain.text().strip().splitlines() if line.strip()][-1:]
        self.setup_failure = why + (f" ({said[0][:300]})" if said else "")
        self.load = LoadReport(False, Problem("crashed", "the sandbox failed before the submission ran"))
        return False

    def _await_load(self, timeout: float) -> None:
        start = time.perf_counter()
        if not self._await_setup(timeout):
            return
        got = self._receive(max(timeout - (time.perf_counter() - start), 0.001))
        elapsed = time.perf_counter() - start
        if isinstance(got, Problem):
            self.load = LoadReport(False, got, elapsed=elapsed)
            return
        msg, _ = got
        if msg.get("ok"):
            funcs = msg.get("functions")
            self.load = LoadReport(True, functions=funcs if isinstance(funcs, dict) else {}, elapsed=elapsed)
        else:
            self.load = LoadReport(False, reply_problem(msg.get("error")), elapsed=elapsed)

    def call(self, function: str, args: list[Any], outputs: list[str], timeout: float) -> Returned | Problem:
        """Call ``function(*args)`` in the student process; a Problem if it produced nothing."""
        return self.call_many(function, [args], outputs, timeout)[0]

    def call_many(
        self,
        function: str,
        arg_lists: list[list[Any]],
        outputs: list[str],
        timeout: float,
        want: list[str] | None = None,
        deadline: float | None = None,
    ) -> list[Returned | Problem]:
        """Several calls of ``function`` sent in one message; the process replies to each
        as it finishes. ``timeout`` is each call's limit, ``deadline`` (``time.monotonic``)
        a limit for all of them (a submission's budget); ``want``: the outputs to send
        back (the others are computed but not transferred).

        An exception in one call does not stop the others. A call that times out or
        kills the process keeps the replies before it; the calls after it are not run
        and get a Problem of the same kind that says so."""
        failed = self._request(calls_request(function, outputs, want, arg_lists), timeout)
        if failed is not None:
            return [failed] * len(arg_lists)
        results: list[Returned | Problem] = []
        for _ in arg_lists:
            got, _more = self._reply(outputs, timeout, deadline, want)
            results.append(got)
            if isinstance(got, Problem) and self.dead:
                left = len(arg_lists) - len(results)
                if left:
                    skipped = Problem(got.kind, f"not run: an earlier call of {function} failed ({got.message})")
                    results.extend([skipped] * left)
                break
        return results

    def descend(
        self, function: str, args: list[Any], outputs: list[str], timeout: float, *,
        variable: int, gradient: str, rate: float, steps: int, shapes: list[tuple[int, ...]],
        deadline: float | None = None,
    ) -> list[Returned | Problem]:
        """Gradient descent on argument ``variable`` run by the student's process (the
        checks' ``Caller.descend``): one request, one reply per step as it returns, each
        within ``timeout``; the outcomes of the steps made."""
        blobs: list[bytes] = []
        specs, _ = encode_args(args, blobs, {})
        request = {
            "op": "descend", "call": {"function": function, "args": specs, "outputs": outputs},
            "variable": variable, "gradient": gradient, "rate": float(rate), "steps": int(steps),
            "shapes": [list(shape) for shape in shapes],
        }
        failed = self._request(wire.frame(wire.encode_header(request), blobs), timeout)
        if failed is not None:
            return [failed]
        results: list[Returned | Problem] = []
        while len(results) < steps:
            got, more = self._reply(outputs, timeout, deadline)
            results.append(got)
            if not more or self.dead:
                break
        return results

    def _request(self, payload: bytes, timeout: float) -> Problem | None:
        """Send a request (a framed message, ``wire.frame``); the Problem that stopped the
        process if it could not be sent."""
        if self.dead:
            return Problem("crashed", "the submission's process is no longer running")
        # The socket still holds the last read's (short) time-out: give the send its own.
        # A process that stops reading its input is stopped like one that does not reply.
        send_limit = max(timeout, 5.0)
        self.sock.settimeout(send_limit)
        try:
            wire.send_framed(self.sock, payload)
        except TimeoutError:
            self._kill()
            self._reap()
            return Problem("timeout", f"did not read its input within {send_limit:.3g} s; stopped")
        except OSError:
            info = self._reap()
            return Problem("crashed", info.describe())
        return None

    def _reply(
        self, outputs: list[str], timeout: float, deadline: float | None, want: list[str] | None = None
    ) -> tuple[Returned | Problem, bool]:
        """One call's reply within ``timeout`` (and ``deadline``), and whether the process
        said another reply follows (a descent's ``more``)."""
        like = self._like
        if like is not None and like.asked == (outputs, want):
            same = like.take(self)
            if same is not None:
                return same
        start = time.perf_counter()
        due = time.monotonic() + max(timeout, 0.001)
        got = self._receive(timeout, due if deadline is None else min(due, deadline), reply=True)
        elapsed = time.perf_counter() - start
        if isinstance(got, Problem):
            return got, False
        msg, data = got
        if msg.get("op") == "result":
            more = msg.get("more") is True
            result = self._parse(msg.get("result"), outputs, data, elapsed, want, self._reader.raw)
            if isinstance(result, Returned):
                shape = (self._reader.raw, tuple(len(blob) for blob in data), outputs, want, more)
                if shape == self._last_reply:  # the second alike in a row: the next may be too
                    self._like = _Like.of(self._reader.raw, data, outputs, want, more, result)
                self._last_reply = shape
            return result, more
        self._kill()
        self._reap()
        return Problem("crashed", "the sandboxed process sent a malformed reply"), False

    def _parse(
        self, msg: Any, outputs: list[str], data: list[bytes], elapsed: float, want: list[str] | None = None,
        raw: bytes | None = None,
    ) -> Returned | Problem:
        """One call's reply. Everything not asked for is refused before any decoding: an
        array for an output not in ``want``, an array no output names, or one named
        twice. Decoded bytes are capped per reply and per submission (``decode_left``).

        ``raw``: the reply's header bytes. A reply whose every output is an array or
        skipped is checked once per header (and outputs, wants, number of arrays) in a
        grading process (:data:`_CLEAN_REPLIES`, #17): the checks depend on those alone,
        and a later reply with the same bytes only has its arrays decoded."""
        key = None
        if raw is not None and len(raw) <= wire.RESULT_HEADER_BYTES:
            key = (raw, tuple(outputs), tuple(want) if want else None, len(data))
            clean = _CLEAN_REPLIES.get(key)
            if clean is not None:
                return self._decoded(clean, outputs, data, elapsed)
        got = self._checked(msg, outputs, data, elapsed, want)
        ok = isinstance(got, Returned) and all(problem is None for problem in got.problems)
        if key is not None and ok and len(_CLEAN_REPLIES) < CLEAN_REPLIES_KEPT:
            assert isinstance(got, Returned)
            # Each output decoded, or skipped (None).
            _CLEAN_REPLIES[key] = (got.types, tuple(
                None if value is None else out["blob"] for value, out in zip(got.values, msg["outputs"])
            ))
        return got

    def _decoded(
        self, clean: tuple[tuple[str, ...], tuple[int | None, ...]], outputs: list[str], data: list[bytes], elapsed: float
    ) -> Returned:
        """A reply of a header checked before: each output skipped or an array to decode,
        as :meth:`_checked` decodes it (the same caps)."""
        types, blobs = clean
        reply_left = REPLY_DECODE_CAP
        values: list[np.ndarray | None] = []
        problems: list[Problem | None] = []
        for name, index in zip(outputs, blobs):
            if index is None:
                values.append(None)
                problems.append(None)
                continue
            value, problem = self._decode_one(name, data[index], reply_left)
            reply_left -= value.nbytes if value is not None else 0
            values.append(value)
            problems.append(problem)
        return Returned(tuple(values), types, tuple(problems), elapsed)

    def _decode_one(self, name: str, blob: bytes, reply_left: int) -> tuple[np.ndarray | None, Problem | None]:
        """One output's array within what is left of this reply's and this submission's
        decoding caps (the submission's count is taken down here), or why not."""
        left = min(reply_left, self.decode_left)
        if left < 8:  # nothing left for this reply or this submission
            return None, Problem("too-large", f"{name}: the submission sent more array data than the grader accepts")
        try:
            value = decode_array(blob, max_elements=max(1, min(self._max_elements, left // 8)))
        except DecodeError as exc:
            return None, Problem("wrong-type", f"{name} could not be decoded: {exc}")
        self.decode_left -= value.nbytes
        return value, None

    def _checked(
        self, msg: Any, outputs: list[str], data: list[bytes], elapsed: float, want: list[str] | None = None
    ) -> Returned | Problem:
        """:meth:`_parse`, every check made."""
        if not isinstance(msg, dict):
            return Problem("crashed", "the sandboxed process sent a malformed reply")
        if not msg.get("ok"):
            if data:
                return Problem("crashed", "the sandboxed process sent arrays it was not asked for")
            return reply_problem(msg.get("error"))
        wanted = want or outputs
        outs = msg.get("outputs")
        if isinstance(outs, list):
            # Every array named by exactly one output, that output asked for.
            named = []
            for i, o in enumerate(outs):
                if isinstance(o, dict) and "blob" in o:
                    if i < len(outputs) and outputs[i] not in wanted:
                        return Problem("crashed", "the sandboxed process sent arrays it was not asked for")
                    named.append(o["blob"])
            if len(named) != len(data) or sorted(x for x in named if isinstance(x, int)) != list(range(len(data))):
                return Problem("crashed", "the sandboxed process sent arrays it was not asked for")
        reply_left = REPLY_DECODE_CAP
        if not isinstance(outs, list) or len(outs) != len(outputs):
            return Problem("crashed", "the sandboxed process sent a malformed reply")
        values: list[np.ndarray | None] = []
        types: list[str] = []
        problems: list[Problem | None] = []
        for name, out in zip(outputs, outs):
            if not isinstance(out, dict):
                return Problem("crashed", "the sandboxed process sent a malformed reply")
            types.append(_type_name(out.get("type", "?")))
            if out.get("skipped") is True:
                values.append(None)
                problems.append(None)
                continue
            if "error" in out:
                values.append(None)
                problems.append(reply_problem(out["error"]))
                continue
            index = out.get("blob")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(data):
                return Problem("crashed", "the sandboxed process sent a malformed reply")
            value, problem = self._decode_one(name, data[index], reply_left)
            reply_left -= value.nbytes if value is not None else 0
            values.append(value)
            problems.append(problem)
        return Returned(tuple(values), tuple(types), tuple(problems), elapsed)


# Replies checked clean (every output an array or skipped, no problem), by (header
# bytes, outputs, wants, number of arrays): (type names, each output's array index or
# None if skipped). What :meth:`StudentProcess._checked` decides depends on those alone.
# At most CLEAN_REPLIES_KEPT are kept (then none are added).
_CLEAN_REPLIES: dict[tuple[bytes, tuple[str, ...], tuple[str, ...] | None, int], tuple[tuple[str, ...], tuple[int | None, ...]]] = {}
CLEAN_REPLIES_KEPT = 4096


# Type names as shown, by what the process sent: a submission's replies repeat a few
# ("numpy.ndarray", "float"); at most TYPE_NAMES_KEPT are kept (then none are added).
_TYPE_NAMES: dict[str, str] = {}
TYPE_NAMES_KEPT = 256


def _type_name(raw: Any) -> str:
    """A returned value's type name from a reply: text, capped and sanitized."""
    if type(raw) is str:
        hit = _TYPE_NAMES.get(raw)
        if hit is not None:
            return hit
    name = sanitize(str(raw)[:100])
    if type(raw) is str and len(_TYPE_NAMES) < TYPE_NAMES_KEPT and len(raw) <= 100:
        _TYPE_NAMES[raw] = name
    return name



class _Like:
    """Reads a reply that is byte for byte the last clean reply but for its arrays' data
    (#17): a submission's ~140 replies are mostly runs of one shape (a batch's
    finite-difference points, a descent's steps). The reply it was made from went
    through every check (:meth:`StudentProcess._parse`), and each of its arrays is
    float64 in C order; a reply whose every other byte is the same passes those checks
    alike (the same header, blob sizes, array headers and caps), so only its data is
    read here, in place, and the submission's decoding budget taken down. Anything else
    — a byte that differs, a reply not whole in the buffer yet, a budget that would come
    near its end — is left to the full path."""

    __slots__ = ("asked", "parts", "size", "nbytes", "types", "problems", "outputs", "more", "raw")

    def __init__(
        self, asked: tuple[list[str], list[str] | None], parts: tuple[tuple[bytes, int, int, tuple[int, ...]], ...],
        size: int, got: Returned, more: bool, raw: bytes,
    ) -> None:
        self.asked, self.parts, self.size, self.more, self.raw = asked, parts, size, more, raw
        self.nbytes = sum(n for _, _, n, _ in parts)
        self.types, self.problems, self.outputs = got.types, got.problems, len(got.values)

    @classmethod
    def of(
        cls, raw: bytes, data: list[bytes], outputs: list[str], want: list[str] | None, more: bool, got: Returned
    ) -> _Like | None:
        """The reader of replies like this clean one, or None if it is not one to read so."""
        clean = _CLEAN_REPLIES.get((raw, tuple(outputs), tuple(want) if want else None, len(data)))
        if clean is None or not data or any(p is not None for p in got.problems):
            return None
        owner = {blob: i for i, blob in enumerate(clean[1]) if blob is not None}  # blob -> output
        if sorted(owner) != list(range(len(data))):
            return None
        frame = wire.frame(raw, data)
        parts = []
        start, at = 0, 8 + len(raw)  # the frame's head and header, then each blob's length and bytes
        for j, blob in enumerate(data):
            layout = float64_layout(blob)
            if layout is None:
                return None
            end, shape = layout
            parts.append((frame[start : at + 8 + end], owner[j], len(blob) - end, shape))
            at += 8 + len(blob)
            start = at
        return cls((outputs, want), tuple(parts), len(frame), got, more, raw)

    def take(self, proc: StudentProcess) -> tuple[Returned, bool] | None:
        """The next reply, if it is whole in the buffer and alike; else None (nothing read)."""
        reader = proc._reader
        buf, at = reader.buf, reader.pos
        if len(buf) - at < self.size or proc.decode_left - self.nbytes < REPLY_DECODE_CAP:
            return None
        values: list[np.ndarray | None] = [None] * self.outputs
        for fixed, output, n, shape in self.parts:
            if not buf.startswith(fixed, at):
                return None
            at += len(fixed)
            values[output] = np.frombuffer(bytes(buf[at : at + n]), dtype=np.float64).reshape(shape)
            at += n
        reader.pos, reader.raw = at, self.raw
        proc.decode_left -= self.nbytes
        return Returned(tuple(values), self.types, self.problems, 0.0), self.more
