"""Find the submissions in a class folder.

A submission is a sub-folder of the class folder (its id is the folder's name) or a
``.py`` file directly in it (its id is the file name without ``.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from gradgrader.errors import SubmissionError

IGNORED_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}


@dataclass(frozen=True)
class Submission:
    """One student's work: its id, the file to grade (or why there is none)."""

    id: str
    path: Path | None
    folder: Path | None = None  # the student's own folder (its other modules may be imported)
    problem: str = ""  # set when no gradable file was found
    extra: dict[str, object] = field(default_factory=dict)

    def digest(self) -> str:
        """Content hash of the graded file (for --resume): changed file, new grade."""
        if self.path is None:
            return ""
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return ""


def pick_file(folder: Path, filename: str) -> tuple[Path | None, str]:
    """The file to grade in a student's folder: the one the assignment names, else the
    only .py file; otherwise say what is ambiguous (never guess)."""
    named = folder / filename
    if named.is_file():
        return named, ""
    matches = sorted(p for p in folder.rglob(filename) if not set(p.parts) & IGNORED_DIRS)
    if len(matches) == 1:
        return matches[0], ""
    py = sorted(p for p in folder.rglob("*.py") if not set(p.relative_to(folder).parts) & IGNORED_DIRS)
    if len(py) == 1:
        return py[0], ""
    if not py:
        return None, f"no {filename} (and no other .py file) in {folder.name}/"
    names = ", ".join(str(p.relative_to(folder)) for p in py[:6])
    return None, f"no {filename} in {folder.name}/ and several other .py files ({names}): rename the one to grade to {filename}"


def discover(root: Path, filename: str) -> list[Submission]:
    """Every submission under ``root``, sorted by id."""
    if not root.exists():
        raise SubmissionError(f"{root}: no such folder")
    if not root.is_dir():
        raise SubmissionError(f"{root}: not a folder (give the folder that holds the class's submissions)")
    found: list[Submission] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED_DIRS:
            continue
        if entry.is_dir():
            path, problem = pick_file(entry, filename)
            found.append(Submission(entry.name, path, entry, problem))
        elif entry.suffix == ".py" and entry.is_file():
            found.append(Submission(entry.stem, entry, None))
    ids = [s.id for s in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SubmissionError(f"{root}: two submissions share the id(s) {', '.join(dupes)} (a folder and a file?)")
    return found


def single(path: Path, filename: str) -> Submission:
    """The submission ``gradgrader check PATH`` means: a .py file, or a folder holding one."""
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    if path.is_dir():
        file, problem = pick_file(path, filename)
        if file is None:
            raise SubmissionError(f"{path}: {problem}")
        return Submission(path.resolve().name, file, path)
    if path.suffix != ".py":
        raise SubmissionError(f"{path}: not a Python file (expected {filename})")
    return Submission(path.stem, path, None)
