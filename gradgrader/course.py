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
    # The course's modules may import its helper modules (``from common import ...``).
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise ConfigError(
            f"{path}: the course's {label} fails to import: {type(exc).__name__}: {exc} "
            f"(line {last.lineno})"
        ) from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def materialise(assignment: Assignment, value: Any) -> Any:
    """Build a Composite argument as the course's own object, for the reference and hooks."""
    from gradgrader.cases import Composite

    if not isinstance(value, Composite):
        return value
    module_name, _, attr = value.factory.partition(":")
    path = assignment.root / f"{module_name}.py"
    if not path.is_file():
        raise ConfigError(f"{assignment.root}: factory {value.factory!r} needs {module_name}.py among the assignment's helpers")
    module = _load(path, f"helper_{module_name}")
    factory = getattr(module, attr, None)
    if factory is None:
        raise ConfigError(f"{path}: defines no {attr!r} (named by factory {value.factory!r})")
    return factory(**{k: materialise(assignment, v) for k, v in value.fields.items()})


def reference_module(assignment: Assignment) -> ModuleType:
    return _load(assignment.reference_path, "reference")


def load_course_file(assignment: Assignment, file: str) -> ModuleType:
    """Another reference of the course (a convention's), by file name."""
    return _load(assignment.root / file, f"reference_{Path(file).stem}")


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
