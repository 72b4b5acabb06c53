"""The course's own Python: ``reference.py`` and ``hooks.py`` of an assignment.

This is trusted code (the course wrote it) and runs in the grader's process only;
it never reaches the sandboxed process that runs student code.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from gradgrader.errors import ConfigError
from gradgrader.spec import Assignment


def _local_names(root: Path) -> set[str]:
    """Top-level module names an assignment folder provides (``common`` for common.py)."""
    names = {p.stem for p in root.glob("*.py")}
    names.update(d.name for d in root.iterdir() if d.is_dir() and (d / "__init__.py").is_file())
    return names


@contextlib.contextmanager
def _course_imports(root: Path, helpers: dict[str, ModuleType]) -> Iterator[None]:
    """While a course file of ``root`` runs its imports: its folder is importable, its
    helper modules resolve to their one canonical copy (``helpers``: name → module),
    and no module of that folder stays in ``sys.modules`` afterwards, so two courses
    that both ship a ``common.py`` never see each other's in one grader process."""
    local = _local_names(root)
    saved = {n: sys.modules.pop(n) for n in list(sys.modules) if n.partition(".")[0] in local}
    sys.modules.update(helpers)
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for n in [n for n in sys.modules if n.partition(".")[0] in local]:
            del sys.modules[n]
        sys.modules.update(saved)


# Loading a course file changes sys.modules and sys.path for a moment: one thread at a
# time (Dask worker threads and the review UI's re-grades load hooks lazily).
_LOADING = threading.RLock()


# Each course file's module by (path as given, label): a hook is looked up for every
# value it computes, and resolving the path and hashing it each time took ~0.1 ms of
# each lookup (141 lookups in a check's first submission, #17).
_LOADED: dict[tuple[Path, str], ModuleType] = {}


def _load(path: Path, label: str, helpers: dict[str, ModuleType] | None = None) -> ModuleType:
    module = _LOADED.get((path, label))
    if module is not None and sys.modules.get(module.__name__) is module:
        return module
    with _LOADING:
        module = _load_locked(path, label, helpers)
        _LOADED[(path, label)] = module
        return module


def _load_locked(path: Path, label: str, helpers: dict[str, ModuleType] | None) -> ModuleType:
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
        # The course's modules may import its helper modules (``from common import ...``).
        with _course_imports(path.parent, helpers or {}):
            spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(
            f"{path}: the course's {label} fails to import: {type(exc).__name__}: {exc}{_where(exc, path)}"
        ) from None
    return module


def _where(exc: BaseException, path: Path) -> str:
    """`` (line N)`` of ``path`` where ``exc`` happened: a syntax error says it itself;
    otherwise the innermost frame in that file (not importlib's)."""
    if isinstance(exc, SyntaxError):
        return ""  # its message already names the file and line
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return f" (line {frames[-1].lineno})" if frames else ""


def _helper(assignment: Assignment, module_name: str) -> ModuleType:
    """The canonical copy of a course helper module (one per assignment and process)."""
    return _load(assignment.root / f"{module_name}.py", f"helper_{module_name}")


def _helpers(assignment: Assignment) -> dict[str, ModuleType]:
    """The assignment's Python helpers by import name: the reference, the hooks and the
    factories of object arguments all get these same modules (one GaussianMixture class)."""
    return {Path(h).stem: _helper(assignment, Path(h).stem) for h in assignment.helpers if h.endswith(".py")}


def materialise(assignment: Assignment, value: Any) -> Any:
    """Build a Composite argument as the course's own object, for the reference and hooks."""
    from gradgrader.spec import Composite

    if not isinstance(value, Composite):
        return value
    module_name, _, attr = value.factory.partition(":")
    path = assignment.root / f"{module_name}.py"
    if not path.is_file():
        raise ConfigError(f"{assignment.root}: factory {value.factory!r} needs {module_name}.py among the assignment's helpers")
    module = _helper(assignment, module_name)
    factory = getattr(module, attr, None)
    if factory is None:
        raise ConfigError(f"{path}: defines no {attr!r} (named by factory {value.factory!r})")
    return factory(**{k: materialise(assignment, v) for k, v in value.fields.items()})


def reference_module(assignment: Assignment) -> ModuleType:
    return _load(assignment.reference_path, "reference", _helpers(assignment))


def load_course_file(assignment: Assignment, file: str) -> ModuleType:
    """Another reference of the course (a convention's), by file name."""
    return _load(assignment.root / file, f"reference_{Path(file).stem}", _helpers(assignment))


def hooks_module(assignment: Assignment) -> ModuleType | None:
    # Once loaded, found without looking at the disk: a check asks for a hook once per
    # value it computes (~25 per submission, #17).
    loaded = _LOADED.get((assignment.hooks_path, "hooks"))
    if loaded is not None and sys.modules.get(loaded.__name__) is loaded:
        return loaded
    return _load(assignment.hooks_path, "hooks", _helpers(assignment)) if assignment.hooks_path.is_file() else None


def hook(assignment: Assignment, name: str, where: str) -> Callable[..., Any]:
    """The function ``name`` of the assignment's hooks.py, or a ConfigError saying what is missing."""
    module = hooks_module(assignment)
    if module is None:
        raise ConfigError(f"{where}: names hook {name!r}, but {assignment.root} has no hooks.py")
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"{where}: {assignment.hooks_path} defines no function {name!r}")
    return fn
