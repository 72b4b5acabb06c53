"""TOML loading that names the file and the line on error.

A parsed file is remembered in the user's cache folder (:mod:`gradgrader._cache`) as
JSON, under the digest of its text and of the parser: tomllib is pure Python, and the
assignment's, its feedback's and its rubric's TOML took ~8 ms of every command that
loads an assignment (a student's ``check`` first, #17), where the JSON takes well under
one. Keyed on the text itself, a remembered parse is never stale; a file whose values
JSON cannot hold as they are (dates and times) is parsed every time.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from gradgrader._cache import cache_dir, write_atomically
from gradgrader.errors import ConfigError

TOML_CACHE_VERSION = 1


def _parser() -> Any:
    """The TOML parser, imported when a file is not remembered yet (~2 ms a remembered
    load does not pay, #17)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def _parser_name() -> str:
    """The parser and the version its values depend on, without importing it on 3.11+
    (tomllib's version is Python's)."""
    if sys.version_info >= (3, 11):
        return f"tomllib  {sys.version_info[:3]}"
    tomli = _parser()  # pragma: no cover - Python 3.10
    return f"{tomli.__name__} {getattr(tomli, '__version__', '')} {sys.version_info[:3]}"  # pragma: no cover


def load_toml(path: Path) -> dict[str, Any]:
    """Parse ``path`` as TOML, or raise ConfigError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    remembered = _remembered_file(text)
    parsed = _read(remembered)
    if parsed is not None:
        return parsed
    tomllib = _parser()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _remember(remembered, data)
    return data


def _remembered_file(text: str) -> Path:
    """Where the parse of ``text`` is remembered: named by the digest of the text, the
    cache's form and the parser (its version decides the values)."""
    parser = _parser_name()
    digest = hashlib.sha256(f"{TOML_CACHE_VERSION}\0{parser}\0{text}".encode()).hexdigest()
    return cache_dir() / "toml" / f"{digest}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remember(path: Path, data: dict[str, Any]) -> None:
    try:
        text = json.dumps(data, ensure_ascii=False)  # NaN and inf as JSON's extensions, which loads reads back
    except (TypeError, ValueError):
        return  # a date or a time: not JSON
    if json.loads(text) == data:  # only what comes back exactly as it was
        write_atomically(path, text)
