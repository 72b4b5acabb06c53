"""Shared by the LMS readers: a student's files gathered into a folder of their own."""

from __future__ import annotations

import dataclasses
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from gradgrader.errors import SubmissionError
from gradgrader.ingest._walk import _kind, copy_tree
from gradgrader.ingest.archive import ZipLimits, _mb, safe_extract
from gradgrader.ingest.submission import terminal_safe


@dataclass(frozen=True)
class Skipped:
    """An entry of the export that was not used, and why (shown to the TA)."""

    name: str
    reason: str

    def __post_init__(self) -> None:
        # names come from students: shown on the TA's terminal, so no raw escape sequence
        object.__setattr__(self, "name", terminal_safe(self.name))
        object.__setattr__(self, "reason", terminal_safe(self.reason))


def visible(folder: Path) -> list[Path]:
    """The entries of ``folder`` a person put there (no dot files, no archive litter)."""
    return sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and p.name not in {"__MACOSX", "Thumbs.db", "desktop.ini"}
    )


def gather(
    files: list[tuple[Path, str]], dest: Path, limits: ZipLimits, label: str
) -> list[Skipped]:
    """Copy ``(source, relative name)`` pairs into the fresh folder ``dest``; a ``.zip`` the
    student uploaded is then unpacked (safely) into a folder named after it.

    Two sources claiming one place: the first is kept, the other reported (never an
    overwrite). Links and special files are skipped and reported. The caps of ``limits``
    (``student_bytes``, ``student_files``) hold for everything of this student together,
    copied files and all their archives: past them SubmissionError (that student's
    error result), and what was written is removed."""
    skipped: list[Skipped] = []
    dest.mkdir(parents=True)
    budget = _Budget(limits)
    try:
        _copy_files(files, dest, label, budget, skipped)
        _unpack_zips(dest, label, budget, skipped)
    except SubmissionError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return skipped


@dataclass
class _Budget:
    """What one student's files have used so far of the per-student caps of ``limits``."""

    limits: ZipLimits
    size: int = 0
    count: int = 0

    def over(self) -> SubmissionError:
        return SubmissionError(
            f"over the per-student cap ({_mb(self.limits.student_bytes)}, {self.limits.student_files} files, "
            "all files and archives together): not graded"
        )

    def charge(self, nbytes: int, nfiles: int) -> None:
        """Count ``nbytes`` in ``nfiles`` more files; SubmissionError past a cap."""
        self.size, self.count = self.size + nbytes, self.count + nfiles
        if self.size > self.limits.student_bytes or self.count > self.limits.student_files:
            raise self.over()


def _copy_files(
    files: list[tuple[Path, str]], dest: Path, label: str, budget: _Budget, skipped: list[Skipped]
) -> None:
    """Copy each ``(source, relative name)`` to ``dest``: the first source to claim a name
    (case folded) wins; links and special files are reported in ``skipped``."""
    limits = budget.limits
    placed: dict[str, Path] = {}
    for src, rel in files:
        key = rel.casefold()
        if key in placed:
            skipped.append(
                Skipped(
                    f"{label}: {src.name}",
                    f"also claims {rel} (kept: {placed[key].name}); never overwritten",
                )
            )
            continue
        placed[key] = src
        target = dest / rel
        st = src.lstat()
        if stat.S_ISLNK(st.st_mode):
            skipped.append(Skipped(f"{label}: {rel}", "symbolic link: not followed"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISDIR(st.st_mode):
            nbytes, nfiles, left = copy_tree(
                src, target, max_bytes=limits.student_bytes - budget.size,
                max_files=limits.student_files - budget.count,
            )
            skipped += [Skipped(f"{label}: {rel}/{name}", why) for name, why in left]
            budget.charge(nbytes, nfiles)
        elif stat.S_ISREG(st.st_mode):
            budget.charge(st.st_size, 1)
            shutil.copyfile(src, target, follow_symlinks=False)
        else:
            skipped.append(Skipped(f"{label}: {rel}", f"{_kind(st.st_mode)}: skipped, never opened"))


def _unpack_zips(dest: Path, label: str, budget: _Budget, skipped: list[Skipped]) -> None:
    """Unpack every ``.zip`` at the top of ``dest`` into a folder named after it, within
    what is left of the student's budget (an archive over it: SubmissionError)."""
    limits = budget.limits
    for archive in sorted(dest.glob("*.zip")):
        inner = dest / archive.stem
        if inner.exists():
            skipped.append(
                Skipped(f"{label}: {archive.name}", f"not unpacked: {inner.name}/ already exists")
            )
            continue
        left = dataclasses.replace(
            limits,
            max_total_bytes=min(limits.max_total_bytes, max(limits.student_bytes - budget.size, 0)),
            max_entries=min(limits.max_entries, max(limits.student_files - budget.count, 0)),
        )
        try:
            done = safe_extract(archive, inner, left)
        except SubmissionError as exc:
            if "more than" in str(exc) and (
                left.max_total_bytes < limits.max_total_bytes
                or left.max_entries < limits.max_entries
            ):
                raise budget.over() from None  # over what is left of this student's budget
            skipped.append(
                Skipped(f"{label}: {archive.name}", str(exc).replace(str(archive), archive.name))
            )
            continue
        budget.charge(sum(p.stat().st_size for p in done.files), len(done.files))
        skipped += [Skipped(f"{label}: {archive.name}/{name}", why) for name, why in done.skipped]
