"""Where assignments are: shipped ones (checkout, ``GRADGRADER_HOME``, wheel data) and folders."""

from __future__ import annotations

import os
from pathlib import Path

from gradgrader.errors import ConfigError

# The file that makes a folder an assignment (``spec.models`` re-exports it). Defined
# here, so that finding an assignment imports no model: a student's `check` starts its
# sandbox from this module before anything else is loaded (#17).
ASSIGNMENT_FILE = "assignment.toml"


def data_roots() -> list[Path]:
    """Folders searched for shipped assignments, rubrics and student packs, most
    specific first.

    ``GRADGRADER_HOME`` (a checkout or course folder holding ``assignments/`` and
    ``rubrics/``), then the data installed with the wheel (``packs/`` only: a student's
    install holds no answer key), then the source checkout this package lives in (an
    editable install: the full ``assignments/``).
    """
    roots: list[Path] = []
    env = os.environ.get("GRADGRADER_HOME")
    if env:
        roots.append(Path(env))
    here = Path(__file__).resolve().parent.parent  # the gradgrader package (this file is in gradgrader/spec/)
    roots.append(here / "_data")
    roots.append(here.parent)
    return [r for r in roots if (r / "assignments").is_dir() or (r / PACKS).is_dir()]


PACKS = "packs"  # student packs of the shipped assignments (what the wheel ships)


def shipped_assignments() -> dict[str, Path]:
    """Names of the assignments shipped with gradgrader, mapped to their folders: the
    full assignment where one is found (a checkout, ``GRADGRADER_HOME``), else its
    student pack (all a wheel install has: ``check`` works, the reference stays out)."""
    found: dict[str, Path] = {}
    for kind in (PACKS, "assignments"):  # a full assignment wins over a pack of its name
        for root in reversed(data_roots()):
            if not (root / kind).is_dir():
                continue
            for folder in sorted((root / kind).iterdir()):
                if (folder / ASSIGNMENT_FILE).is_file():
                    found[folder.name] = folder
    return dict(sorted(found.items()))


def find_assignment(name_or_path: str) -> Path:
    """Resolve ``--assignment``: a shipped assignment's name, or a path to a folder."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        if not (candidate / ASSIGNMENT_FILE).is_file():
            raise ConfigError(
                f"{candidate}: not an assignment folder (it has no {ASSIGNMENT_FILE})"
            )
        return candidate.resolve()
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate.resolve().parent
    shipped = shipped_assignments()
    if name_or_path in shipped:
        return shipped[name_or_path]
    known = ", ".join(shipped) or "none"
    raise ConfigError(
        f"unknown assignment {name_or_path!r}: give a shipped name ({known}) "
        f"or the path of an assignment folder"
    )


def course_folders(root: Path) -> list[Path]:
    """What no student process may see, even read-only, when grading the assignment at
    ``root``: that folder, every course folder (``assignments``, ``rubrics``) of the
    data roots — references, hidden cases, other assignments — and the user's cache
    folder (a check's remembered course values hold the reference's outputs)."""
    return [root, *_data_folders("assignments", "rubrics"), *_cache_folder()]


def _cache_folder() -> list[Path]:
    """The user's cache folder, made now if there is none yet: a sandbox hides only what
    exists when it starts, and a first check writes into this folder after its sandbox
    started (the layers' probe, the parsed TOML). None if it cannot be made."""
    from gradgrader._cache import cache_dir

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    return [folder] if folder.is_dir() else []


def _data_folders(*kinds: str) -> list[Path]:
    """The existing ``kinds`` folders of every data root."""
    return [r / d for r in data_roots() for d in kinds if (r / d).is_dir()]


def every_course_folder() -> list[Path]:
    """The course folders of every data root, student packs included: what a sandbox
    hides before it knows which shipped assignment it grades. Each shipped assignment
    lives in one of them, so this holds every folder :func:`course_folders` gives for
    any shipped assignment (the cache folder too) (a student's ``check FILE`` without ``--assignment`` starts
    its sandbox with these before it detects the assignment, #17)."""
    return [*_data_folders("assignments", "rubrics", PACKS), *_cache_folder()]
