"""The child side of the zygote: a forked process confines itself, imports the
student's file, and answers calls with plain ``.npy`` arrays until told to stop.

Loaded by path inside the zygote before any fork (``_zygote._load_sibling``, which
sets ``wire``, ``landlock`` and ``confine`` below): standard library
and numpy only, never gradgrader.

The confinement order in :func:`child_main` is security-relevant and fixed: own
session, descriptors redirected and every other one closed, rlimits, a scrubbed
environment and the import hook, Landlock, RLIMIT_NOFILE, no privileges, seccomp;
only then the "setup" message, and only after it the student's import.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import resource
import signal
import socket
import sys
import traceback
from typing import Any

import numpy as np

# The siblings this module uses, set by ``_zygote._load_sibling`` once it is loaded.
wire: Any = None  # _wire.py
landlock: Any = None  # _landlock.py
confine: Any = None  # _confine.py


# .npy 1.0 headers by (dtype, shape): a submission's replies repeat a few of them.
_HEADERS: dict[tuple[str, tuple[int, ...]], bytes] = {}


def _npy(arr: np.ndarray) -> bytes:
    """Encode a float/int/bool array as .npy 1.0 bytes (no pickle, C order: ``tobytes``
    writes C order whatever the array's layout)."""
    key = (arr.dtype.str, arr.shape)
    head = _HEADERS.get(key)
    if head is None:
        header = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % key
        pad = 64 - (10 + len(header) + 1) % 64
        header = header + " " * pad + "\n"
        head = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1")
        if len(_HEADERS) < 256:
            _HEADERS[key] = head
    return head + arr.tobytes()


def _student_frames(tb, path: str) -> list[tuple[int, str]]:
    return [(f.lineno or 0, f.line or "") for f in traceback.extract_tb(tb) if f.filename == path]


def _error(exc: BaseException, path: str) -> dict:
    frames = _student_frames(exc.__traceback__, path)
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
    if isinstance(exc, SyntaxError) and exc.filename == path:
        info["line"], info["code"] = exc.lineno or 0, (exc.text or "").rstrip()[:300]
    elif frames:
        info["line"], info["code"] = frames[-1][0], frames[-1][1][:300]
    if isinstance(exc, NotImplementedError):
        info["kind"] = "not-implemented"
    elif isinstance(exc, MemoryError):
        info["kind"] = "memory-limit"
    elif isinstance(exc, RecursionError):
        info["kind"] = "crashed"
    else:
        info["kind"] = "exception"
    return info


def _describe(module, names: list[str]) -> dict:
    found = {}
    for name in names:
        fn = module.__dict__.get(name)
        if fn is None:
            found[name] = {"defined": False}
            continue
        entry: dict[str, Any] = {"defined": True, "callable": callable(fn)}
        plain = _plain_arity(fn)
        if plain is not None:
            entry.update(plain)
            found[name] = entry
            continue
        try:
            params = inspect.signature(fn).parameters.values()
            entry["required"] = sum(
                p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params
            )
            entry["positional"] = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
            entry["varargs"] = any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):
            entry["varargs"] = True
        found[name] = entry
    return found


_CO_VARARGS = inspect.CO_VARARGS


def _plain_arity(fn) -> dict | None:
    """What :func:`_describe` reports, read from a plain function's code object (as
    ``inspect.signature`` would give it, without its cost); None for anything else
    (a class, a partial, a decorated or builtin callable): those go through inspect."""
    if type(fn) is not _FUNCTION or fn.__dict__.get("__wrapped__") is not None or fn.__dict__.get("__signature__") is not None:
        return None
    code = fn.__code__
    positional = code.co_argcount
    defaults = len(fn.__defaults__ or ())
    return {"required": positional - defaults, "positional": positional, "varargs": bool(code.co_flags & _CO_VARARGS)}


_FUNCTION = type(_plain_arity)


def _array_view(spec: dict, blobs: list[bytes]) -> np.ndarray:
    """An array argument over its raw bytes (read-only; dtype and shape in the header,
    written by the grader): each call gets a copy."""
    return np.frombuffer(blobs[spec["blob"]], dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])


def _decode_arg(spec: dict, blobs: list[bytes]):
    kind = spec["kind"]
    if kind == "array":
        return _array_view(spec, blobs).copy()
    if kind == "object":  # the course's own type, e.g. common:GaussianMixture
        module, _, name = spec["factory"].partition(":")
        factory = getattr(importlib.import_module(module), name)
        return factory(**{k: _decode_arg(v, blobs) for k, v in spec["fields"].items()})
    if kind == "int":
        return int(spec["value"])
    return float(spec["value"])


# Type names as replies give them, by type: a submission returns a few types (#17).
_TYPE_NAMES: dict[type, str] = {}


def _type_name(value) -> str:
    kind = type(value)
    name = _TYPE_NAMES.get(kind)
    if name is None:
        name = (kind.__module__ + "." + kind.__qualname__).replace("builtins.", "")
        if len(_TYPE_NAMES) < 256:
            _TYPE_NAMES[kind] = name
    return name


def _convert(value, name: str, max_bytes: int):
    """Turn one returned value into (type name, .npy bytes, None, the array) or
    (type name, None, an error dict, None)."""
    tname = _type_name(value)
    try:
        arr = np.array(value, copy=True, subok=False)
    except Exception as exc:  # noqa: BLE001 - anything the student's object raises
        return tname, None, {"kind": "wrong-type", "message": f"{name} could not be read as numbers: {type(exc).__name__}: {exc}"[:500]}, None
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        return tname, None, {"kind": "wrong-type", "message": f"{name} is a {tname} holding {arr.dtype} values, not numbers"}, None
    elif arr.dtype.itemsize > 8:
        arr = arr.astype(np.float64)
    if arr.nbytes > max_bytes:
        return tname, None, {"kind": "too-large", "message": f"{name} is {arr.nbytes} bytes, over the {max_bytes}-byte limit"}, None
    return tname, _npy(arr), None, arr


def _split_outputs(result, names: list[str]):
    """Map a return value to the named outputs: the value itself, a sequence, or attributes.

    A NamedTuple or an object with attributes named like the outputs (``mixture.mu``)
    is read by name; a plain tuple or list of the right length by position.
    """
    if len(names) == 1:
        return [result], None
    fields = getattr(type(result), "_fields", None)
    if isinstance(result, tuple) and fields and all(n in fields for n in names):
        return [getattr(result, n) for n in names], None
    if isinstance(result, (tuple, list)):
        if len(result) == len(names):
            return list(result), None
        return None, f"expected {len(names)} values ({', '.join(names)}), got a {type(result).__name__} of length {len(result)}"
    if all(hasattr(result, n) for n in names):
        return [getattr(result, n) for n in names], None
    return None, f"expected {len(names)} values ({', '.join(names)}), got a {type(result).__name__}"


def _flush() -> None:
    """Push what the submission printed into the pipe before replying, so the grader
    sees a call's output by the time it has the call's result (best effort: the
    submission may have replaced or closed its streams)."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001
            pass


def child_main(sock: socket.socket, out_fd: int, scratch: str, req: dict, prepared: dict, seccomp: dict) -> None:
    """The forked child, step by step (the order is the sandbox; see the module's
    docstring). ``prepared``: the zygote's O_PATH descriptors of the read-only paths;
    ``seccomp``: its prepared filter (``base`` rules, a compiled ``template``; either
    may be missing)."""
    layers = req.get("layers", {})
    # Until Landlock is applied, the zygote's prepared read-only path descriptors stay
    # open (O_PATH: they give no access by themselves, and they are closed before the
    # submission is loaded).
    prepared = prepared if layers.get("landlock") else {}
    _own_session(scratch)
    _redirect_descriptors(sock, out_fd, prepared)
    _apply_limits(req["limits"])
    _set_environment(scratch, req)
    _confine(layers, scratch, prepared, seccomp)
    # The sandbox is set up: from here on everything is the submission's doing. Said on
    # the socket before any student code runs, so a student cannot forge it (a process
    # that dies before this message is the grader's failure, not the student's).
    wire.send(sock, {"op": "setup", "ok": True})
    max_bytes = int(req["max_output_bytes"])
    module = _load_student(sock, req)
    if module is not None:
        _serve_calls(sock, module, req["path"], max_bytes)


def _own_session(scratch: str) -> None:
    """Its own session and process group, dead with the zygote, in its scratch folder."""
    os.setsid()
    confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.chdir(scratch)


def _redirect_descriptors(sock: socket.socket, out_fd: int, prepared: dict) -> None:
    """stdin from /dev/null, stdout and stderr into the grader's pipe; every other
    inherited descriptor closed but the socket and the ``prepared`` ones."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    keep = sorted({sock.fileno(), *(entry[0] for entry in prepared.values())})
    low = 3
    for fd in keep:
        if fd > low:  # the prepared descriptors mostly follow each other: no call between
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115


def _apply_limits(limits: dict) -> None:
    """rlimits: address space, CPU seconds, file size, no core dumps, processes."""
    mem = limits["memory_mb"] << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    fsize = limits["fsize_mb"] << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if hasattr(resource, "RLIMIT_NPROC"):
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
        except (ValueError, OSError):
            pass


def _set_environment(scratch: str, req: dict) -> None:
    """The grader's environment only (home and temporary folder: the scratch folder),
    the student's and the course's folders after site-packages, the import hook."""
    # Exactly the grader's environment and these two: the zygote's own is that same
    # environment already, so only what differs is changed (~0.25 ms of every start, #17).
    wanted = {**req["env"], "HOME": scratch, "TMPDIR": scratch}
    for name in [name for name in os.environ if name not in wanted]:
        del os.environ[name]
    for name, value in wanted.items():
        if os.environ.get(name) != value:
            os.environ[name] = value
    # TMPDIR is the scratch folder: ``tempfile``, once imported, chooses it. Only a
    # ``tempfile`` imported before the fork has a folder of its own to forget.
    tempfile: Any = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile.tempdir = scratch
    sys.argv = [req["path"]]
    for extra in req.get("sys_path", []):
        sys.path.append(extra)  # after site-packages: cannot shadow numpy or the stdlib
    imports = req.get("imports") or {}
    sys.meta_path.insert(0, confine.CourseImports(imports.get("provided", []), imports.get("modules", []), imports.get("stubs", {})))


def _confine(layers: dict, scratch: str, prepared: dict, seccomp: dict) -> None:
    """Landlock (then the prepared descriptors are closed), RLIMIT_NOFILE, no
    privileges, seccomp: in this order."""
    if layers.get("landlock"):
        try:
            landlock.restrict(read=layers["read"], write=[scratch] + layers.get("write", []), prepared=prepared)
        finally:
            for entry in prepared.values():
                os.close(entry[0])
    # After Landlock: until then the prepared descriptors are open (some 450 of them).
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    confine.drop_privileges()
    if layers.get("seccomp"):
        confine.apply_seccomp(seccomp.get("base"), seccomp.get("template"))


def _load_student(sock: socket.socket, req: dict) -> Any:
    """Import the student's file and report what it defines; None (reported) if the
    import failed."""
    path = req["path"]
    module_name = req["module"]
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        _flush()
        wire.send(sock, {"op": "loaded", "ok": False, "error": _error(exc, path)})
        return None
    _flush()
    wire.send(sock, {"op": "loaded", "ok": True, "functions": _describe(module, req["functions"])})
    return module


def _serve_calls(sock: socket.socket, module: Any, path: str, max_bytes: int) -> None:
    """Answer batches of calls until the grader closes the socket or says otherwise."""
    reader = wire.Reader(sock)  # one system call per message, not one per array (#17)
    while True:
        try:
            msg, blobs = reader.recv()
        except EOFError:
            return
        if msg.get("op") == "descend":
            _descend(sock, module, msg, blobs, path, max_bytes)
            continue
        if msg.get("op") != "calls":
            return
        # One reply per call, sent as soon as the call returns: the grader enforces each
        # call's time limit and keeps the calls that finished before one that hangs.
        # Each call names its arguments by index in the request's table of specs.
        table = msg["args"]
        call = {"function": msg["function"], "args": [], "outputs": msg["outputs"], "want": msg.get("want")}
        decode = _request_decoder(blobs)
        for indices in msg["calls"]:
            call["args"] = [table[i] for i in indices]
            out_blobs: list[bytes] = []
            reply = _one_call(module, call, blobs, out_blobs, path, max_bytes, decode=decode)
            _flush()
            _send_result(sock, reply, out_blobs)


# Encoded headers of result messages, by what they hold (#17): a submission's replies
# repeat a few (every finite-difference point's is the same), each encoded once.
_RESULT_HEADERS: dict[tuple, bytes] = {}


def _send_result(sock: socket.socket, reply: dict, out_blobs: list[bytes], more: bool | None = None) -> None:
    """Send one call's reply (and, for a descent's step, whether another follows): the
    same bytes as ``wire.send`` of ``{"op": "result", "result": reply[, "more": more]}``,
    the header encoded once per shape of a clean reply (every output an array or
    skipped, as :func:`_outputs` makes them)."""
    key = None
    outs = reply.get("outputs")
    if reply.get("ok") is True and len(reply) == 2 and isinstance(outs, list):
        key = (more,) + tuple(
            (o["type"], "blob", o["blob"]) if len(o) == 2 and "blob" in o
            else (o["type"], "skipped") if len(o) == 2 and o.get("skipped") is True
            else None
            for o in outs
        )
        if None in key[1:]:
            key = None
    data = _RESULT_HEADERS.get(key) if key is not None else None
    if data is None:
        message = {"op": "result", "result": reply} if more is None else {"op": "result", "result": reply, "more": more}
        data = wire.encode_header(message)
        if key is not None and len(_RESULT_HEADERS) < 256:
            _RESULT_HEADERS[key] = data
    wire.send_encoded(sock, data, out_blobs)


def _request_decoder(blobs: list[bytes]) -> Any:
    """``_decode_arg`` for one request's calls: an array argument's bytes are read into an
    array once per request (80 finite-difference points share X and y, #17) and each call
    gets a fresh copy of it, as before; anything else is decoded for each call (a course
    object's factory may arm a course helper for the next call)."""
    bases: dict[int, Any] = {}

    def decode(spec: dict) -> Any:
        if spec.get("kind") != "array":
            return _decode_arg(spec, blobs)
        base = bases.get(id(spec))
        if base is None:
            base = bases[id(spec)] = _array_view(spec, blobs)
        return base.copy()

    return decode


def _descend(sock: socket.socket, module: Any, msg: dict, blobs: list[bytes], path: str, max_bytes: int) -> None:
    """Gradient descent driven here, for a course's training check (#17): up to
    ``steps`` calls, each next one with argument ``variable`` moved to
    ``x - rate * g`` (``g``: the previous call's output ``gradient``, as the float64
    array the grader decodes from the reply), one reply per call, ``more`` saying
    whether another follows. It stops after a call whose outcome ends the course's loop
    (a problem, a value that is not finite, an output not of its expected shape). The
    grader recomputes every iterate from the gradients it receives: nothing here is
    trusted more than one call per step."""
    call = msg["call"]
    variable = int(msg["variable"])
    gradient = call["outputs"].index(msg["gradient"])
    rate, steps = float(msg["rate"]), int(msg["steps"])
    shapes = [tuple(shape) for shape in msg["shapes"]]
    x = np.asarray(_decode_arg(call["args"][variable], blobs))  # step 0: the argument as sent (a number too)
    for step in range(steps):
        # Fresh copies of every argument for every call, as for a batch of calls.
        out_blobs: list[bytes] = []
        arrays: list[Any] = []
        reply = _descent_call(module, call, blobs, out_blobs, path, max_bytes, (variable, x.copy()), arrays)
        more = step + 1 < steps and _goes_on(reply, arrays, shapes, x.shape, gradient)
        _flush()
        _send_result(sock, reply, out_blobs, more)
        if not more:
            return
        x = x - rate * np.array(arrays[gradient], dtype=np.float64)


def _goes_on(reply: dict, arrays: list[Any], shapes: list[tuple], x_shape: tuple, gradient: int) -> bool:
    """Whether a descent step's outcome lets the next step run."""
    if not reply.get("ok") or len(arrays) != len(shapes) or any(a is None for a in arrays):
        return False
    if arrays[gradient].shape != x_shape:
        return False
    return all(a.shape == shape and bool(np.all(np.isfinite(a))) for a, shape in zip(arrays, shapes))


def _one_call(
    module, call: dict, blobs: list[bytes], out_blobs: list[bytes], path: str, max_bytes: int,
    replace: tuple[int, Any] | None = None, arrays: list | None = None, decode: Any = None,
) -> dict:
    """Run one call; its arrays are appended to ``out_blobs`` and named by index.
    ``replace``: (argument index, value) used instead of that decoded argument (a
    descent's iterate); ``arrays``: collects each output as converted (None if none);
    ``decode``: how an argument's spec is decoded (:func:`_request_decoder`), if not by
    :func:`_decode_arg`."""
    fn = module.__dict__.get(call["function"])
    try:
        # Nothing but the student's function may be called between decoding and the
        # call: decoding a course object may arm a course helper for "the next function
        # called" (cs229-gmm's _em_passes traces run_em's loop that way).
        if decode is None:
            args = [_decode_arg(a, blobs) for a in call["args"]]
        else:
            args = [decode(a) for a in call["args"]]
        if replace is not None:
            args[replace[0]] = replace[1]
        result = fn(*args)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        return {"ok": False, "error": _error(exc, path)}
    return _outputs(result, call, out_blobs, max_bytes, arrays)


# The descent's own name for the call. A submission can replace this (or ``_one_call``,
# ``_goes_on``...) like any code of its own process: that only changes its own replies,
# which the grader trusts no more than one call per step (it recomputes every iterate).
_descent_call = _one_call


def _outputs(result: Any, call: dict, out_blobs: list[bytes], max_bytes: int, arrays: list | None) -> dict:
    """A call's reply from what the function returned: arrays appended to ``out_blobs``."""
    names = call["outputs"]
    want = set(call.get("want") or names)  # outputs the grader will look at
    try:
        values, problem = _split_outputs(result, names)
    except BaseException as exc:  # noqa: BLE001 - a hostile __len__ or __getattr__
        values, problem = None, f"the returned {type(result).__name__} could not be unpacked: {type(exc).__name__}"
    if problem:
        return {"ok": False, "error": {"kind": "wrong-output", "message": problem}}
    outs = []
    for name, value in zip(names, values):
        if name not in want:
            outs.append({"type": type(value).__name__, "skipped": True})
            continue
        try:
            tname, data, err, arr = _convert(value, name, max_bytes)
        except BaseException as exc:  # noqa: BLE001
            tname, data, err, arr = "?", None, {"kind": "wrong-type", "message": f"{name}: {type(exc).__name__}"}, None
        if arrays is not None:
            arrays.append(arr)
        if err:
            outs.append({"type": tname, "error": err})
        else:
            outs.append({"type": tname, "blob": len(out_blobs)})
            out_blobs.append(data)
    return {"ok": True, "outputs": outs}


class _StandInSocket:
    """A socket for :func:`warm_up`: reads hand out ``requests``, what is sent is dropped."""

    def __init__(self, requests: bytes) -> None:
        self.requests = bytearray(requests)

    def recv(self, n: int) -> bytes:
        out = bytes(self.requests[:n])
        del self.requests[:n]
        return out

    def sendall(self, data: bytes) -> None:
        pass


def warm_up(calls: int = 24) -> None:
    """Run the path of a call — reading a request, decoding its arguments, calling,
    converting, encoding and sending the reply, a descent's steps — on a stand-in
    function and socket, in the zygote before its first fork (#17).

    A forked student's process inherits it run: Python's specialised bytecode of these
    functions and numpy's first-use set-up are then written once here instead of in every
    student's process (its first calls cost several times the later ones; ~0.3 ms of its
    CPU less). It leaves nothing but those and the tables of encoded headers and type
    names, whose entries are what computing them afresh gives: a student's replies are
    the same bytes (tests/test_sandbox_child.py)."""
    import types

    stand_in = types.ModuleType("_gradgrader_warm_up")

    def loss(W, X, y, reg):
        Z = X @ W.T
        Z = Z - np.max(Z, axis=1, keepdims=True)
        P = np.exp(Z)
        P /= np.sum(P, axis=1, keepdims=True)
        value = -float(np.mean(np.log(P[np.arange(len(y)), y]))) + 0.5 * reg * float(np.sum(W * W))
        return value, (P.T @ X) / len(y) + reg * W

    stand_in.__dict__["loss"] = loss
    written = bytearray()
    requests = types.SimpleNamespace(sendall=written.extend)  # wire.send writes the requests here
    W, X, y = np.full((3, 4), 0.1), np.ones((5, 4)), np.arange(5) % 3
    blobs = [W.tobytes(), X.tobytes(), y.astype("<i8").tobytes()]
    table = [
        {"kind": "array", "blob": 0, "dtype": "<f8", "shape": [3, 4]},
        {"kind": "array", "blob": 1, "dtype": "<f8", "shape": [5, 4]},
        {"kind": "array", "blob": 2, "dtype": "<i8", "shape": [5]},
        {"kind": "float", "value": 0.1},
    ]
    for want in (None, ["loss"]):
        request = {"op": "calls", "function": "loss", "outputs": ["loss", "dW"], "args": table, "calls": [[0, 1, 2, 3]] * calls}
        if want is not None:
            request["want"] = want
        wire.send(requests, request, blobs)
    wire.send(requests, {
        "op": "descend", "call": {"function": "loss", "args": table, "outputs": ["loss", "dW"]},
        "variable": 0, "gradient": "dW", "rate": 0.1, "steps": calls, "shapes": [[], [3, 4]],
    }, blobs)
    _serve_calls(_StandInSocket(bytes(written)), stand_in, "warm_up.py", 1 << 20)  # type: ignore[arg-type] # returns at their end
