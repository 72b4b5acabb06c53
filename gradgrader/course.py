"""The course's own Python: ``reference.py`` and ``hooks.py`` of an assignment.

This is trusted code (the course wrote it) and runs in the grader's process only;
it never reaches the sandboxed process that runs student code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from gradgrader.errors import ConfigError
from gradgrader.spec import Assignment


def _load(path: Path, label: str) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_gradgrader_course_{label}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise ConfigError(
            f"{path}: the course's {label} fails to import: {type(exc).__name__}: {exc} "
            f"(line {last.lineno})"
        ) from None
    return module


def reference_module(assignment: Assignment) -> ModuleType:
    return _load(assignment.reference_path, "reference")


def hooks_module(assignment: Assignment) -> ModuleType | None:
    return _load(assignment.hooks_path, "hooks") if assignment.hooks_path.is_file() else None


def hook(assignment: Assignment, name: str, where: str) -> Callable[..., Any]:
    """The function ``name`` of the assignment's hooks.py, or a ConfigError saying what is missing."""
    module = hooks_module(assignment)
    if module is None:
        raise ConfigError(f"{where}: names hook {name!r}, but {assignment.root} has no hooks.py")
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"{where}: {assignment.hooks_path} defines no function {name!r}")
    return fn
