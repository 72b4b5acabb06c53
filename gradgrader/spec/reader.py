"""Typed access to TOML tables, with errors that name the file and the key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gradgrader.errors import ConfigError
from gradgrader.spec.models import Dim


class Reader:
    """Typed access to a TOML table that names file and key in every error."""

    def __init__(self, path: Path, table: Mapping[str, Any], where: str) -> None:
        self.path, self.table, self.where = path, table, where

    def fail(self, key: str | None, problem: str) -> ConfigError:
        at = f"{self.where}.{key}" if key and self.where else (key or self.where)
        return ConfigError(f"{self.path}: [{at}] {problem}" if at else f"{self.path}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required but missing")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be a {names}, not {type(value).__name__} {value!r}")
        return value

    def positive(self, key: str, default: float) -> float:
        value = self.get(key, float, default)
        if not (value > 0 and math.isfinite(value)):
            raise self.fail(key, f"must be a positive number, not {value!r}")
        return value

    def sub(self, key: str) -> Reader:
        value = self.get(key, dict)
        return Reader(self.path, value, f"{self.where}.{key}" if self.where else key)

    def unknown_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self.table) - allowed)
        if extra:
            raise self.fail(
                None, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
            )


def parse_shape(r: Reader, key: str, value: Any) -> tuple[Dim, ...]:
    if not isinstance(value, list):
        raise r.fail(key, f"shape must be a list like [\"N\", \"K\"] or [], not {value!r}")
    shape: list[Dim] = []
    for d in value:
        if isinstance(d, bool) or not isinstance(d, (int, str)) or (isinstance(d, int) and d < 0):
            raise r.fail(key, f"shape entries are sizes or dimension names, not {d!r}")
        shape.append(d)
    return tuple(shape)


def one_or_many(reader: Reader, one: str, many: str) -> tuple[str, ...]:
    """``one = "x"`` or ``many = ["x", "y"]`` (exactly one of the two), as a tuple."""
    if (one in reader.table) == (many in reader.table):
        raise reader.fail(None, f"needs exactly one of {one} (a name) or {many} (a list of names)")
    if one in reader.table:
        return (reader.get(one, str),)
    names = reader.get(many, list)
    if not names or not all(isinstance(n, str) for n in names):
        raise reader.fail(many, "must be a non-empty list of names")
    return tuple(names)


def reflow(text: str) -> str:
    """Join the lines of each paragraph (TOML multi-line strings keep the file's line breaks)."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)
