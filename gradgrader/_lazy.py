"""Names a package resolves on first use (PEP 562), so that importing the package loads
none of its modules until one of their names is asked for (#17: a student's `check`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, where: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``where`` (name → the
    submodule that defines it, relative to ``package``) is imported when first asked for
    and kept in ``namespace`` (the package's globals), so it is asked only once."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
