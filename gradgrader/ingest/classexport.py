"""A whole class at once, whatever shape it came in: :func:`open_class`.

The input is a folder or a ``.zip``; its kind is told from its contents:

=============  ==========================================================================
``gradescope`` ``submission_metadata.yml`` beside ``submission_<id>/`` folders
``moodle``     entries named ``Full Name_123_assignsubmission_file_…`` (folders or flat)
``canvas``     flat files named ``login_[LATE_]userid_attachmentid_name``
``folder``     anything else: one sub-folder or one ``.py``/``.ipynb`` file per student
=============  ==========================================================================

(most of the entries must follow the LMS's naming; the others are skipped and listed).
A zip is unpacked safely (:mod:`.archive`) into ``workdir/zip``; a single folder
wrapping the whole export (``assignment_123_export/``) is looked through. Canvas and
Moodle students get a folder of their own under ``workdir/students`` (their files were
side by side), and notebooks are converted under ``workdir/notebooks``.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gradgrader.errors import SubmissionError
from gradgrader.ingest import canvas, gradescope, moodle
from gradgrader.ingest._files import Skipped, visible
from gradgrader.ingest._walk import check_tree
from gradgrader.ingest.archive import ZipLimits, safe_extract
from gradgrader.ingest.folders import discover
from gradgrader.ingest.submission import (
    GRADABLE,
    IGNORED_DIRS,
    Submission,
    distinct_ids,
    terminal_safe,
)

KINDS = ("folder", "canvas", "moodle", "gradescope")


@dataclass
class ClassExport:
    """The submissions found in a class folder or export, and what was left out."""

    kind: str  # one of KINDS
    source: Path  # what the caller gave (folder or zip)
    root: (
        Path  # where each submission is ROOT/<id>/ or ROOT/<id>.py|.ipynb (run.json's class_folder)
    )
    submissions: list[Submission]
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the TA: what was read."""
        what = {
            "folder": "class folder",
            "canvas": "Canvas download",
            "moodle": "Moodle download",
            "gradescope": "Gradescope export",
        }[self.kind]
        late = sum(1 for s in self.submissions if s.extra.get("late"))
        notebooks = sum(1 for s in self.submissions if s.notebook is not None)
        parts = [f"{what}: {len(self.submissions)} submission(s)"]
        if notebooks:
            parts.append(f"{notebooks} notebook(s)")
        if late:
            parts.append(f"{late} late")
        if self.skipped:
            parts.append(
                f"{len(self.skipped)} entr{'y' if len(self.skipped) == 1 else 'ies'} skipped"
            )
        return ", ".join(parts)


def detect(root: Path) -> str:
    """The kind of the class folder ``root`` (see the module docstring)."""
    if gradescope.matches(root):
        return "gradescope"
    entries = visible(root)
    if not entries:
        return "folder"
    half = (len(entries) + 1) // 2
    if sum(moodle.matches(e) for e in entries) >= half:
        return "moodle"
    if sum(canvas.matches(e) for e in entries) >= half:
        return "canvas"
    return "folder"


def _unwrap(root: Path) -> Path:
    """Look through single folders that only wrap the export (a zip of a folder)."""
    for _ in range(4):
        entries = visible(root)
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].is_symlink():
            break
        inner = entries[0]
        inside = visible(inner)
        holds_code = any(p.is_file() and p.suffix.lower() in GRADABLE for p in inside)
        folders = [p for p in inside if p.is_dir()]
        if detect(inner) != "folder" or (not holds_code and len(folders) >= 2):
            root = inner
            continue
        break
    return root


def _left_out(root: Path, subs: list[Submission]) -> list[Skipped]:
    """Links and special files (FIFOs, sockets) in the students' folders of a plain class
    folder: grading never opens them; listed for the TA."""
    out: list[Skipped] = []
    for s in subs:
        folder = root / s.raw_id
        if s.folder is None or not folder.is_dir() or folder.is_symlink():  # a file submission
            continue
        try:
            left = check_tree(folder, lambda n: n in IGNORED_DIRS or n.startswith("."))
        except SubmissionError:
            continue  # already that student's error result
        out += [Skipped(f"{s.id}: {name}", why) for name, why in left]
    return out


def _class_root(path: Path, workdir: Path, limits: ZipLimits, skipped: list[Skipped]) -> Path:
    """The folder to read: ``path`` itself, or a zip unpacked (safely) into
    ``workdir/zip``, its refused entries added to ``skipped``."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                looks_zipped = f.read(2) == b"PK" or path.suffix.lower() == ".zip"
            if looks_zipped:
                raise SubmissionError(
                    f"{path}: a zip file that cannot be read (damaged or not fully downloaded?); download it again"
                )
            raise SubmissionError(
                f"{path}: neither a folder nor a zip file (give the class folder or the LMS's zip)"
            )
        done = safe_extract(path, workdir / "zip", limits)
        skipped += [Skipped(name, why) for name, why in done.skipped]
        return workdir / "zip"
    if path.is_dir():
        return path
    raise SubmissionError(f"{path}: neither a folder nor a zip file")


def _read(
    kind: str,
    root: Path,
    filename: str,
    workdir: Path,
    limits: ZipLimits,
    exclude: tuple[Path, ...],
    skipped: list[Skipped],
    warnings: list[str],
) -> tuple[list[Submission], Path]:
    """The submissions of a class folder of this ``kind`` (its reader's), and the folder
    they now live in (the LMS readers gather each student's files under
    ``workdir/students``); what was left out goes to ``skipped`` and ``warnings``."""
    students, cache = workdir / "students", workdir / "notebooks"
    if kind == "gradescope":
        subs, more, notes = gradescope.read(root, filename, cache, limits)
        skipped += more
        warnings += notes
        return subs, root
    if kind == "moodle":
        subs, more = moodle.read(root, filename, students, cache, limits)
        skipped += more
        return subs, students
    if kind == "canvas":
        subs, more = canvas.read(root, filename, students, cache, limits)
        skipped += more
        return subs, students
    subs = discover(root, filename, cache, (*exclude, workdir), limits)
    skipped += [
        Skipped(e.name, "not a submission: neither a folder nor a .py or .ipynb file")
        for e in visible(root)
        if e.is_file() and e.suffix not in GRADABLE and e.name not in IGNORED_DIRS
    ]
    skipped += _left_out(root, subs)
    return subs, root


def open_class(
    path: Path,
    filename: str,
    workdir: Path,
    limits: ZipLimits | None = None,
    exclude: tuple[Path, ...] = (),
) -> ClassExport:
    """Every submission in ``path`` (a folder or a zip; see the module docstring), for the
    assignment whose file is ``filename``. ``workdir`` is gradgrader's own folder (e.g.
    OUT/.extracted): its ``zip``, ``students`` and ``notebooks`` sub-folders are rebuilt
    on every call. ``exclude`` names folders that are never submissions (the run's OUT,
    when it lies inside the class folder). Raises SubmissionError for an input that
    cannot be read at all; what is wrong with one student's files is that student's
    error result (the caps of ``limits`` are per student)."""
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    limits = limits or ZipLimits()
    skipped: list[Skipped] = []
    warnings: list[str] = []
    for sub in ("zip", "students", "notebooks"):
        shutil.rmtree(workdir / sub, ignore_errors=True)
    root = _unwrap(_class_root(path, workdir, limits, skipped))
    kind = detect(root)
    subs, root = _read(kind, root, filename, workdir, limits, exclude, skipped, warnings)
    subs = distinct_ids(subs)
    if not subs:
        warnings.append(f"no submission found in {path}")
    # warnings name folders and metadata entries students chose: printable on a terminal
    return ClassExport(kind, path, root, subs, skipped, [terminal_safe(w) for w in warnings])
