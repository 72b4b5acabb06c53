"""One student's work, as the grader sees it: an id, the file to grade, their folder.

Layer 1: grading one submission needs only this package, never the class readers of
:mod:`gradgrader.ingest` (which re-exports these names).

A notebook is graded through the module made of its code cells (:mod:`.notebook`):
that module is written into a cache folder gradgrader owns, beside a copy of the
student's other files (so their helper modules still import), and the submission keeps
the map back to the notebook's cells so that messages can name them
(:meth:`Submission.relocate`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gradgrader.errors import SubmissionError
from gradgrader.submission._walk import copy_tree

if TYPE_CHECKING:
    from gradgrader.submission.notebook import NotebookModule

_R = TypeVar("_R")  # a Result (layer 5): anything with ``message`` and ``checks`` to relocate

IGNORED_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}
GRADABLE = (".py", ".ipynb")
COPY_CAP = 50 << 20  # bytes of a student's folder copied beside a generated module


def default_cache() -> Path:
    """Where notebooks are converted when the caller names no folder: the user's cache."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gradgrader" / "notebooks"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable_id(raw: str) -> str:
    """A submission id safe for terminals, JSON and CSV: undecodable bytes (a folder name
    that is not UTF-8) become U+FFFD, control and bidi characters are dropped."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # leading/trailing blanks are invisible in every table: " alice" must not pass for alice
    return _UNPRINTABLE.sub("", text).strip() or "unnamed"


def terminal_safe(text: str) -> str:
    """``text`` safe to print on a terminal or in a log: valid UTF-8, and every control or
    bidi character (ESC of an escape sequence, CR, BEL...) shown as a visible escape
    (``\\x1b``) instead of acting."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def shown(m: re.Match[str]) -> str:
        c = ord(m.group(0))
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _UNPRINTABLE.sub(shown, text)


def distinct_ids(subs: list[Submission]) -> list[Submission]:
    """``subs`` with every id unique: when names collide once cleaned (``" alice"`` and
    ``alice``, ``bob`` and ``bob<BEL>``), the one whose raw name is its id keeps it and the
    others get ``id~xxxxxx``, a suffix from a hash of their raw name — distinct, visible,
    and the same whatever order the folders were found in."""
    groups: dict[str, list[Submission]] = {}
    for s in subs:
        groups.setdefault(s.id, []).append(s)
    taken = set(groups)
    renamed: dict[int, str] = {}
    for sid, group in groups.items():
        if len(group) < 2:
            continue
        for s in group:
            if s.raw_id == sid and sum(1 for o in group if o.raw_id == sid) == 1:
                continue  # the one that really is called sid keeps it
            size = 6
            while True:
                digest = hashlib.sha256(s.raw_id.encode("utf-8", "surrogateescape")).hexdigest()
                new = f"{sid}~{digest[:size]}"
                if new not in taken or size >= len(digest):
                    break
                size += 2
            taken.add(new)
            renamed[id(s)] = new
    return [
        dataclasses.replace(s, id=renamed[id(s)]) if id(s) in renamed else s for s in subs
    ]


@dataclass(frozen=True)
class Submission:
    """One student's work: its id, the file to grade (or why there is none).

    ``path`` may name a notebook (``.ipynb``): it is then converted at once into a
    module in :func:`default_cache` and ``path``/``folder`` point at the converted copy
    (``extra["notebook"]`` keeps the original). :func:`notebook_submission` does the same
    into a folder of the caller's choosing."""

    id: str
    path: Path | None
    folder: Path | None = None  # the student's own folder (its other modules may be imported)
    problem: str = ""  # set when no gradable file was found
    extra: dict[str, object] = field(default_factory=dict)  # merged into the result's JSON
    notebook: NotebookModule | None = field(default=None, compare=False, repr=False)
    raw_id: str = field(default="", compare=False, repr=False)  # the name before cleaning

    def __post_init__(self) -> None:
        # Ids come from folder and file names a student chose: make them printable text
        # (no terminal escapes, no undecodable bytes) before anything shows or stores them.
        if not self.raw_id:
            object.__setattr__(self, "raw_id", self.id)
        object.__setattr__(self, "id", printable_id(self.id))
        if self.path is not None and self.path.suffix.lower() == ".ipynb" and self.notebook is None:
            made = notebook_submission(self.id, self.path, self.folder, default_cache(), self.extra)
            for f in dataclasses.fields(self):
                object.__setattr__(self, f.name, getattr(made, f.name))

    def digest(self) -> str:
        """Content hash of the graded file (for --resume): changed file, new grade."""
        if self.path is None:
            return ""
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return ""

    def locate(self, line: int) -> tuple[int, int] | None:
        """For a notebook, (cell, line in cell) of a line of the graded module; else None."""
        return self.notebook.locate(line) if self.notebook is not None else None

    def relocate_text(self, text: str) -> str:
        """A message about the graded file, said in the student's terms (cells of their
        notebook); unchanged for a .py submission."""
        return self.notebook.relocate(text) if self.notebook is not None else text

    def relocate(self, result: _R) -> _R:
        """``result`` with its messages (the result's and every check's) pointing at the
        notebook's cells instead of the generated module's lines. Idempotent; the same
        result for a .py submission."""
        if self.notebook is None:
            return result
        fix = self.notebook.relocate
        r: Any = result
        checks = tuple(dataclasses.replace(c, message=fix(c.message)) for c in r.checks)
        return dataclasses.replace(r, message=fix(r.message), checks=checks)  # type: ignore[no-any-return]


def _safe_name(text: str) -> str:
    name = re.sub(r"[^\w.-]+", "_", text).strip("._") or "submission"
    return name[:80]


def _copy_folder(src: Path, dest: Path) -> None:
    """Copy a student's folder (no symlinks, no special files, no caches, at most
    COPY_CAP bytes), without recursion (:mod:`._walk`)."""
    copy_tree(src, dest, lambda name: name in IGNORED_DIRS, max_bytes=COPY_CAP)


def notebook_submission(
    sid: str,
    notebook: Path,
    folder: Path | None,
    cache: Path,
    extra: dict[str, Any] | None = None,
    filename: str = "",
) -> Submission:
    """The submission ``sid`` whose work is the notebook at ``notebook``.

    The generated module is written as ``filename`` (default: the notebook's name with
    ``.py``) into ``cache/<id>-<hash>/``: alone when the notebook has no folder of its
    own (``folder`` None), else into a fresh copy of ``folder`` at the notebook's place,
    so the student's helper modules still import. A notebook that cannot be read gives
    a submission with a ``problem`` (graded as an error), never an exception."""
    from gradgrader.submission.notebook import notebook_module  # a .py submission never needs it

    extra = {**(extra or {}), "notebook": str(notebook)}
    name = filename or notebook.with_suffix(".py").name
    try:
        module = notebook_module(notebook, name)
    except SubmissionError as exc:
        return Submission(sid, None, folder, str(exc), extra, None)
    key = hashlib.sha256(f"{notebook.resolve()}\0{module.source}".encode()).hexdigest()[:12]
    target = cache / f"{_safe_name(sid)}-{key}"
    try:
        if target.exists():
            shutil.rmtree(target)
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder is None or not notebook.resolve().is_relative_to(folder.resolve()):
            folder = None
            target.mkdir()
            path = target / name
            new_folder = None
        else:
            _copy_folder(folder, target)
            path = target / notebook.resolve().parent.relative_to(folder.resolve()) / name
            new_folder = target
            if path.exists():
                return Submission(
                    sid,
                    None,
                    folder,
                    f"{notebook.name} would be graded as {name}, but {path.relative_to(target)} already exists "
                    f"beside it: keep one of the two",
                    extra,
                    None,
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(module.source, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise SubmissionError(
            f"cannot write the module converted from {notebook} into {cache}: {exc}"
        ) from None
    return Submission(sid, path, new_folder, "", extra, module)
