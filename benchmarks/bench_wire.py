"""What one call costs the sandbox's machinery, in one process (no sandbox, no sockets
waiting): the student's side (decode the arguments, call, convert and frame the reply)
and the grader's side (read the frame, check the reply, decode its array).

    python benchmarks/bench_wire.py            # µs per reply, each side, and the parts
    python benchmarks/bench_wire.py --n 200    # CI: runs it, never fails on timing

The call is a ``softmax_loss``-shaped finite-difference point (W 5×12, X 40×12, y 40,
a float; only the loss sent back) of a function that returns at once, so what is
measured is the machinery alone (docs/performance.md, "Batch throughput"). Warm, in a
loop: a real student's process, forked and cold, pays more per call.
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import sys
import threading
import timeit
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradgrader.sandbox import _wire as wire  # noqa: E402
from gradgrader.sandbox import process  # noqa: E402
from gradgrader.sandbox.decode import decode_array  # noqa: E402
from gradgrader.sandbox.process import StudentProcess  # noqa: E402


def _sibling(name: str) -> ModuleType:
    """A sandbox module loaded by path, as the zygote loads it."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "gradgrader" / "sandbox" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Sink:
    """A socket's ``sendall`` that keeps what it is given."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(bytes(data))


def _us(fn: Any, n: int) -> float:
    return timeit.timeit(fn, number=n) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="replies timed for each figure")
    n = parser.parse_args().n
    child = _sibling("_child")
    child.wire = _sibling("_wire")
    student = SimpleNamespace(softmax_loss=lambda W, X, y, reg: (1.25, W))
    W, X, y = np.zeros((5, 12)), np.zeros((40, 12)), np.zeros(40, dtype=np.int64)
    blobs = [W.tobytes(), X.tobytes(), y.tobytes()]
    call = {"function": "softmax_loss", "outputs": ["loss", "dW"], "want": ["loss"], "args": [
        {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [5, 12]},
        {"kind": "array", "blob": 1, "dtype": "<f8", "shape": [40, 12]},
        {"kind": "array", "blob": 2, "dtype": "<i8", "shape": [40]},
        {"kind": "float", "value": 0.1}]}
    sink = _Sink()
    decode = child._request_decoder(blobs)  # as the process decodes one request's calls

    def one_reply() -> None:
        out: list[bytes] = []
        reply = child._one_call(student, call, blobs, out, "softmax.py", 1 << 26, decode=decode)
        child._flush()
        child._send_result(sink, reply, out)

    print(f"machine: Python {sys.version.split()[0]}, numpy {np.__version__}; {n} replies, µs each")
    print(f"student's side, one reply               {_us(one_reply, n):6.1f}")
    print(f"  decoding the four arguments           {_us(lambda: [decode(a) for a in call['args']], n):6.1f}")
    print(f"  converting the outputs                {_us(lambda: child._outputs((1.25, W), call, [], 1 << 26, None), n):6.1f}")
    out: list[bytes] = []
    reply = child._one_call(student, call, blobs, out, "softmax.py", 1 << 26)
    print(f"  framing and sending                   {_us(lambda: child._send_result(sink, reply, out), n):6.1f}")

    # The grader's side: n replies through a real socket, read as StudentProcess reads them.
    sink.parts.clear()
    for _ in range(n):
        one_reply()
    data = b"".join(sink.parts)

    def grader_side(alike: bool) -> tuple[float, StudentProcess]:
        """µs per reply as StudentProcess._reply reads the n replies, in a run read alike
        (process._Like) or each in full."""
        ours, theirs = socket.socketpair()
        feeder = threading.Thread(target=theirs.sendall, args=(data,))
        proc = StudentProcess.__new__(StudentProcess)  # only what _reply reads
        proc._reader, proc._max_msg, proc._max_blob = wire.Reader(ours), 128 << 20, (1 << 26) + 4096
        proc._max_elements, proc.decode_left, proc.dead = (1 << 26) // 8, 1 << 40, False
        proc._last_reply, proc._like = None, None
        real = process._Like.of
        if not alike:
            process._Like.of = classmethod(lambda cls, *args: None)  # type: ignore[method-assign]
        feeder.start()
        try:
            per = _us(lambda: proc._reply(["loss", "dW"], 5.0, None, ["loss"]), n)
        finally:
            process._Like.of = real  # type: ignore[method-assign]
            feeder.join()
            theirs.close()
        return per, proc

    per, proc = grader_side(alike=False)
    print(f"grader's side, one reply                {per:6.1f}")
    ours, _ = socket.socketpair()
    reader = wire.Reader(ours)
    first = sink.parts[0]

    def frame() -> tuple[dict, list[bytes]]:
        reader.buf, reader.pos = bytearray(first), 0
        return reader.recv(max_total=128 << 20, max_blob=1 << 26, remember=True)

    msg, got = frame()
    print(f"  reading the frame                     {_us(frame, n):6.1f}")
    print(f"  checking the reply (decoding in it)   {_us(lambda: proc._parse(msg['result'], ['loss', 'dW'], got, 0.0, ['loss'], reader.raw), n):6.1f}")
    print(f"  decoding its array                    {_us(lambda: decode_array(got[0], max_elements=1000), n):6.1f}")
    print(f"grader's side, in a run of alike replies {grader_side(alike=True)[0]:5.1f}")


if __name__ == "__main__":
    main()
