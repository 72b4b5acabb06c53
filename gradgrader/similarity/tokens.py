"""Step 1 of the method (see :mod:`gradgrader.similarity`): a Python file as a stream of
normalised tokens, so that renaming, re-commenting, re-spacing, docstrings, ``print``
calls and type annotations change nothing.

:func:`normalise` reads the ``tokenize`` stream once, left to right; the rules are the
methods of :class:`_Normaliser` (what is skipped, the brackets followed, the normal form
of a token), which keeps the little state they need (the bracket depth, whether a
``def``'s parameter list is open, the previous token).
"""

from __future__ import annotations

import builtins
import io
import keyword
import token as tk
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field

_KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
_DROP = frozenset({tk.COMMENT, tk.NL, tk.INDENT, tk.DEDENT, tk.ENCODING, tk.ENDMARKER})
_STATEMENT_START = frozenset({tk.NEWLINE, tk.INDENT, tk.DEDENT})
_FSTRING_START = getattr(tk, "FSTRING_START", -1)  # Python 3.12+: f-strings are split up
_FSTRING_END = getattr(tk, "FSTRING_END", -1)
_STRINGS = frozenset({tk.STRING, _FSTRING_START})
_SKIP_STARTS = frozenset({"print", ":", "->"})  # what starts a skipped call or annotation
_BRACKETS = frozenset("([{)]}")


@dataclass(frozen=True)
class Tokens:
    """A file's normalised tokens and the source line each came from (1-based)."""

    text: tuple[str, ...]
    lines: tuple[int, ...]


def normalise(source: str) -> Tokens:
    """The normalised token stream of Python ``source`` (see the module docstring of
    :mod:`gradgrader.similarity`).

    A file that does not tokenize to the end (a syntax error, an unclosed bracket) keeps
    the tokens read before the problem: a broken file can still be a copy."""
    raw = _raw_tokens(source)
    state = _Normaliser(raw)
    i, n = 0, len(raw)
    while i < n:  # the per-token tests are inline: this loop is most of a class's time
        t = raw[i]
        if t.type in _DROP:
            if t.type in (tk.INDENT, tk.DEDENT):
                state.prev_type = t.type
            i += 1
            continue
        skip = state.skipped(i, t) if (t.type == tk.STRING or t.string in _SKIP_STARTS) else None
        if skip is not None:
            i = skip
            continue
        if t.type == tk.OP and t.string in _BRACKETS:
            state.track_brackets(i, t)
        i = state.emit(i, t)
    return Tokens(tuple(state.text), tuple(state.lines))


def _raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """``tokenize``'s tokens of ``source``, up to the first one it cannot read."""
    raw: list[tokenize.TokenInfo] = []
    try:
        for t in tokenize.generate_tokens(io.StringIO(source).readline):
            raw.append(t)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return raw


@dataclass
class _Normaliser:
    """The normalised tokens of ``raw`` so far, and what the rules need to know of what
    came before."""

    raw: Sequence[tokenize.TokenInfo]
    text: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    prev_type: int = tk.NEWLINE  # the type of the previous significant token
    prev_text: str = ""
    depth: int = 0  # bracket depth
    signature: int = -1  # the depth of a def's parameter list while inside it, else -1

    def skipped(self, i: int, t: tokenize.TokenInfo) -> int | None:
        """Where a docstring, a ``print(...)`` call or a type annotation starting at
        ``t = raw[i]`` ends; None if none starts there."""
        raw = self.raw
        at_start = self.prev_type in _STATEMENT_START
        if t.type == tk.STRING and at_start and _statement_is_string(raw, i):
            return _skip_statement(raw, i)  # a docstring or a bare string: a comment
        if t.type == tk.NAME and t.string == "print" and self.prev_text != "." and _next_is(raw, i, "("):
            j = _skip_call(raw, i + 1)
            if at_start and j < len(raw) and raw[j].type in (tk.NEWLINE, tk.ENDMARKER):
                j += 1  # the whole statement was the print
            return j
        if t.type == tk.OP and (
            (t.string == ":" and self.signature >= 0 and self.depth == self.signature + 1)
            or (t.string == "->" and self.depth == 0)
        ):
            # type annotations are dropped: a student who strips the starter's hints
            # from a signature has not written new code
            return _skip_annotation(raw, i)
        return None

    def track_brackets(self, i: int, t: tokenize.TokenInfo) -> None:
        """Follow the bracket depth, and whether the bracket ``t = raw[i]`` (an operator)
        opens or closes a ``def``'s parameter list."""
        if t.string in "([{":
            if self.signature < 0 and _def_name(self.raw, i):
                self.signature = self.depth
            self.depth += 1
        elif t.string in ")]}":
            self.depth = max(0, self.depth - 1)
            if self.depth == self.signature:
                self.signature = -1

    def emit(self, i: int, t: tokenize.TokenInfo) -> int:
        """Append the normalised form of ``t = raw[i]``; the index of the next token."""
        if t.type == tk.NAME:
            # a keyword argument's name (axis=, keepdims=) is numpy's API, not a
            # student's choice: kept, unlike a parameter's name in a def
            api = self.depth > 0 and self.signature < 0 and _next_is(self.raw, i, "=")
            word = t.string if (t.string in _KEEP_NAMES or self.prev_text == "." or api) else "V"
        elif t.type == tk.NUMBER:
            word = "0"
        elif t.type in _STRINGS:
            word = '""'
            if t.type != tk.STRING:  # 3.12+: an f-string is several tokens; keep one
                self.text.append(word)
                self.lines.append(t.start[0])
                self.prev_type, self.prev_text = tk.STRING, word
                return _skip_fstring(self.raw, i)
        elif t.type == tk.NEWLINE:
            if self.prev_type in _STATEMENT_START:
                return i + 1
            word = ";"
        else:
            word = t.string
        self.text.append(word)
        self.lines.append(t.start[0])
        self.prev_type, self.prev_text = t.type, t.string
        return i + 1


def _next_is(raw: Sequence[tokenize.TokenInfo], i: int, s: str) -> bool:
    return i + 1 < len(raw) and raw[i + 1].string == s


def _def_name(raw: Sequence[tokenize.TokenInfo], i: int) -> bool:
    """Whether the bracket at ``raw[i]`` opens a def's parameter list (``def NAME (``)."""
    return i >= 2 and raw[i - 2].type == tk.NAME and raw[i - 2].string == "def"


def _skip_annotation(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    """The index of what ends the annotation starting at ``raw[i]`` (``:`` or ``->``): the
    next ``,`` ``=`` or closing bracket of a parameter, or the ``:`` after a return type."""
    depth = 0
    ends = ":" if raw[i].string == "->" else ",="
    i += 1
    while i < len(raw):
        s = raw[i].string
        if raw[i].type == tk.OP:
            if s in "([{":
                depth += 1
            elif s in ")]}":
                if depth == 0:
                    return i
                depth -= 1
            elif depth == 0 and s in ends:
                return i
        elif raw[i].type in (tk.NEWLINE, tk.ENDMARKER):
            return i
        i += 1
    return i


def _skip_call(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    """The index after the bracket that closes the one at ``raw[i]``."""
    depth = 0
    while i < len(raw):
        if raw[i].type == tk.OP and raw[i].string in "([{":
            depth += 1
        elif raw[i].type == tk.OP and raw[i].string in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _skip_fstring(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    while i < len(raw) and raw[i].type != _FSTRING_END:
        i += 1
    return i + 1


def _statement_is_string(raw: Sequence[tokenize.TokenInfo], i: int) -> bool:
    """Whether the statement starting at ``raw[i]`` is nothing but string literals."""
    while i < len(raw):
        t = raw[i]
        if t.type in (tk.NEWLINE, tk.ENDMARKER):
            return True
        if t.type not in (tk.STRING, tk.NL, tk.COMMENT):
            return False
        i += 1
    return True


def _skip_statement(raw: Sequence[tokenize.TokenInfo], i: int) -> int:
    while i < len(raw) and raw[i].type not in (tk.NEWLINE, tk.ENDMARKER):
        i += 1
    return i + 1
