"""The course's environment inside the sandbox: which packages a submission may import.

A student process may always import the standard library and numpy. An assignment
adds the packages its course provides (``packages = ["scipy"]`` in ``[assignment]``):
exactly those, with the packages they depend on, become readable (Landlock rules on
their installed files, nothing else of site-packages) and importable. Plotting
packages (``stubs``, by default matplotlib and seaborn) are replaced by inert stand-ins
shipped in ``stubs/``: the import works, every call does nothing.

Any other installed package is neither readable nor importable: the child's import
hook (see ``_confine.CourseImports``) answers ``No module named 'yaml' in this course's
environment`` instead of a permission error. The hook only words the message; the
boundary is Landlock (and the grader reads nothing else of site-packages).

Stdlib only: the grader resolves the packages (:func:`course_environment`), the
sandbox is told the paths and names.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gradgrader.errors import ConfigError

if TYPE_CHECKING:  # imported where used: ~10 ms a student's check needs only for declared packages
    import importlib.metadata as md

STUBS = Path(__file__).with_name("stubs")  # one stand-in package per name in spec.KNOWN_STUBS


class MissingPackageError(ConfigError):
    """A package the assignment declares is not installed where the grader runs: the
    TA must install it (exit 2), no student is graded without it."""


@dataclass(frozen=True)
class CourseEnvironment:
    """What one assignment's student processes may import beyond the stdlib and numpy."""

    packages: tuple[str, ...] = ()  # declared import names, e.g. ("scipy",)
    modules: tuple[str, ...] = ()  # every top-level import name they bring, dependencies included
    read: tuple[str, ...] = ()  # installed files and folders the sandbox may read
    stubs: tuple[str, ...] = ()  # import names served by the stand-ins

    def request(self) -> dict:
        """The part of a spawn request the child's import hook needs."""
        return {
            "provided": list(self.packages),
            "modules": list(self.modules),
            "stubs": {name: str(STUBS) for name in self.stubs},
        }

    @property
    def readable(self) -> tuple[str, ...]:
        """Paths the sandbox may read for this environment: the packages and the stubs."""
        # The stubs' folder holds nothing but stand-ins; the import hook picks which.
        return self.read + ((str(STUBS),) if self.stubs else ())


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=1)
def _providers() -> dict[str, list[str]]:
    """Top-level import name → the installed distributions that provide it."""
    import importlib.metadata as md

    return {k: list(v) for k, v in md.packages_distributions().items()}


def _requirements(dist: md.Distribution) -> list[str]:
    """Names of the distributions ``dist`` needs at run time (extras left out)."""
    names = []
    for req in dist.requires or []:
        name, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        m = _NAME.match(name.strip())
        if m:
            names.append(m.group(0))
    return names


def _top_level(dist: md.Distribution) -> tuple[set[str], set[str]]:
    """The import names a distribution installs, and its files' top-level paths."""
    modules: set[str] = set()
    paths: set[str] = set()
    for f in dist.files or []:
        parts = Path(str(f)).parts
        if not parts or parts[0] in {"..", "__pycache__"} or parts[0].endswith(".pth"):
            continue
        paths.add(str(Path(str(dist.locate_file(parts[0])))))
        head = parts[0]
        if head.endswith((".dist-info", ".egg-info", ".data", ".libs")):
            continue
        stem = head.split(".", 1)[0] if len(parts) == 1 else head
        if stem.isidentifier():
            modules.add(stem)
    return modules, paths


def missing_packages(packages: tuple[str, ...] | list[str]) -> list[str]:
    """The declared import names that no installed distribution provides."""
    return [p for p in packages if p not in _providers()]


def require_packages(packages: tuple[str, ...] | list[str], assignment: str = "the assignment") -> None:
    """Raise :class:`MissingPackageError` if any declared package is not installed."""
    missing = missing_packages(packages)
    if missing:
        names = ", ".join(missing)
        raise MissingPackageError(
            f"{assignment} declares packages = [{', '.join(repr(p) for p in packages)}], but {names} "
            f"{'is' if len(missing) == 1 else 'are'} not installed for {sys.executable}: "
            f"install {'it' if len(missing) == 1 else 'them'} (pip install {' '.join(missing)}) and run again"
        )


@functools.lru_cache(maxsize=32)
def course_environment(packages: tuple[str, ...] = (), stubs: tuple[str, ...] = ()) -> CourseEnvironment:
    """Resolve the declared packages to the installed files of their distributions and
    of everything those depend on (numpy's own are always readable). Stubs whose name
    is a declared package are left out: the real package wins."""
    require_packages(packages)
    if not packages:  # a numpy-only course: nothing to resolve
        return CourseEnvironment((), (), (), tuple(stubs))
    import importlib.metadata as md

    # Listing every installed distribution costs ~50 ms: only a course that declares
    # packages needs it (issue 17: a single `check` of a numpy-only course skips it).
    providers = _providers() if packages else {}
    todo = [d for p in packages for d in providers.get(p, [])]
    seen: set[str] = set()
    modules: set[str] = set(packages)
    read: set[str] = set()
    while todo:
        name = todo.pop()
        if _norm(name) in seen:
            continue
        seen.add(_norm(name))
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency that is not installed grants nothing
        if _norm(dist.metadata["Name"] or name) == "gradgrader":
            continue  # never the grader itself (its data may hold reference solutions)
        mods, paths = _top_level(dist)
        modules |= mods
        read |= paths
        todo.extend(_requirements(dist))
    kept_stubs = tuple(s for s in stubs if s not in modules)
    return CourseEnvironment(tuple(packages), tuple(sorted(modules)), tuple(sorted(read)), kept_stubs)
