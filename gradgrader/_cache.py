"""The user's cache folder: what one run of gradgrader may remember for the next on
this machine (the sandbox probe's answer, parsed TOML). Nothing in it is needed to
grade: a missing, unreadable or unwritable folder only costs time.

``GRADGRADER_CACHE_DIR``, else ``XDG_CACHE_HOME/gradgrader``, else ``~/.cache/gradgrader``.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The folder (it may not exist yet)."""
    base = os.environ.get("GRADGRADER_CACHE_DIR")
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gradgrader"


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``path`` (text as UTF-8) whole or not at all (a reader never sees half a
    file); best effort: a folder that cannot be written is left as it is."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except OSError:
        pass
