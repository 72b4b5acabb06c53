"""Dataclass methods compiled once per machine instead of once per process (#17).

Python (3.10–3.12) writes each generated method of a dataclass — ``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, a frozen one's ``__setattr__`` and
``__delattr__`` — as source text and compiles it with ``exec`` every time the class is
created. A student's ``check`` creates ~50 of the engine's frozen dataclasses (and rich's):
~250 compilations, ~25 ms of its ~135 (py-spy, 20 checks: 382 of 496 samples inside
dataclasses were that ``exec``). The text of each method depends only on the class's
fields and options, so its compiled code is always the same: :class:`RememberedCode`
keeps it in the user's cache folder, and the next process runs the remembered code
instead of compiling the same text again.

Nothing else changes: ``exec(text)`` compiles ``text`` as ``compile(text, "<string>",
"exec")`` would with the caller's ``__future__`` flags — the dataclasses module has none
— and runs the code; here the code of that very compilation is run, in the same
globals and namespace (tests/test_compiled.py compares classes made both ways). The
file is one marshalled table (text → code), read whole when a command starts (~1 ms for
~270 methods) and only for the Python that wrote it (``sys.version`` and marshal's
format head it); anything it cannot read is compiled as before and the file rewritten.
It is only ever read by the gradgrader command, never by a student's process (which
imports none of this), and lives with the user's other caches: whoever can write there
can already change what the user's Python runs.
"""

from __future__ import annotations

import builtins
import marshal
import sys
import zlib
from pathlib import Path
from types import CodeType
from typing import Any

from gradgrader._cache import cache_dir, write_atomically

# What the file was written by: its code objects are only valid for this interpreter.
HEADER = f"gradgrader dataclass code 2\0{sys.version}\0{marshal.version}"
CAP = 4096  # methods kept at most: beyond, only those a command used are kept


def code_file() -> Path:
    return cache_dir() / f"dataclass-code-{sys.implementation.cache_tag}.marshal"


class RememberedCode:
    """The compiled code of dataclass method texts, remembered in ``path`` (the user's
    cache folder by default) between processes.

    :meth:`install` makes the dataclasses module use it (from then on, in this process);
    :meth:`close` puts the module back as it was and remembers what had to be compiled.
    Only a command's process does this (``gradgrader.cli.main``): importing gradgrader
    as a library changes nothing of the dataclasses module."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = code_file() if path is None else path
        self.remembered: dict[str, CodeType] = {}
        self.used: dict[str, CodeType] = {}
        self.compiled = 0  # texts this process had to compile
        self._installed = False
        self._previous: tuple[bool, Any] = (False, None)

    def code(self, text: str) -> CodeType:
        code = self.used.get(text) or self.remembered.get(text)
        if code is None:
            # As exec(text) compiles it from the dataclasses module: with that module's
            # __future__ flags (none), not this one's (``annotations``).
            code = compile(text, "<string>", "exec", dont_inherit=True)
            self.compiled += 1
        self.used[text] = code
        return code

    def exec(self, source: Any, globals: dict[str, Any] | None = None, locals: Any = None) -> None:
        """``exec`` as the dataclasses module calls it: a text runs as its compiled code."""
        if type(source) is str:
            source = self.code(source)
        builtins.exec(source, globals, locals)

    def install(self) -> None:
        """Read what is remembered and have dataclasses created from now on use it
        (once; a check does it just after starting its sandbox, before any dataclass)."""
        if self._installed:
            return
        import dataclasses

        self.remembered = read(self.path)
        namespace = vars(dataclasses)
        self._previous = ("exec" in namespace, namespace.get("exec"))
        namespace["exec"] = self.exec  # a module global shadows the builtin it calls
        self._installed = True

    def close(self) -> None:
        """Undo :meth:`install` and remember (best effort) what had to be compiled."""
        if not self._installed:
            return
        import dataclasses

        namespace = vars(dataclasses)
        had, previous = self._previous
        if had:
            namespace["exec"] = previous
        else:
            namespace.pop("exec", None)
        self._installed = False
        if self.compiled:
            write(self.path, self)


def read(path: Path) -> dict[str, CodeType]:
    """The remembered table; empty if missing, unreadable, damaged or another Python's.

    The marshalled bytes follow their CRC-32, checked before they are loaded: marshal
    takes a damaged file for other bytecode (a flipped bit loads as another method) or
    fails with any error (SystemError too), and no command may stop, or run other code,
    because of it."""
    try:
        raw = path.read_bytes()  # one read: marshal.load(file) reads in small pieces (~4× slower)
    except OSError:
        return {}
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != zlib.crc32(raw[4:]):
        return {}
    try:
        data = marshal.loads(raw[4:])
    except Exception:  # noqa: BLE001 - a file that passes its CRC and still does not load
        return {}
    if not (isinstance(data, tuple) and len(data) == 2 and data[0] == HEADER and isinstance(data[1], dict)):
        return {}
    return {t: c for t, c in data[1].items() if isinstance(t, str) and isinstance(c, CodeType)}


def write(path: Path, code: RememberedCode) -> None:
    """Remember the table (best effort): what was remembered and what was used, or only
    what was used when both would hold more than :data:`CAP` methods."""
    table = {**code.remembered, **code.used}
    if len(table) > CAP:
        table = dict(code.used)
    payload = marshal.dumps((HEADER, table))
    write_atomically(path, zlib.crc32(payload).to_bytes(4, "big") + payload)
