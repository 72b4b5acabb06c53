"""Shared by the LMS readers: a student's files gathered into a folder of their own."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gradgrader.errors import SubmissionError
from gradgrader.ingest.archive import ZipLimits, safe_extract


@dataclass(frozen=True)
class Skipped:
    """An entry of the export that was not used, and why (shown to the TA)."""

    name: str
    reason: str


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
    student uploaded is then unpacked (safely) into a folder named after it."""
    skipped: list[Skipped] = []
    dest.mkdir(parents=True)
    for src, rel in files:
        target = dest / rel
        if src.is_symlink():
            skipped.append(Skipped(f"{label}: {rel}", "symbolic link: not followed"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True, ignore=_links)
        else:
            shutil.copyfile(src, target)
    for archive in sorted(dest.glob("*.zip")):
        inner = dest / archive.stem
        if inner.exists():
            skipped.append(
                Skipped(f"{label}: {archive.name}", f"not unpacked: {inner.name}/ already exists")
            )
            continue
        try:
            done = safe_extract(archive, inner, limits)
        except SubmissionError as exc:
            skipped.append(
                Skipped(f"{label}: {archive.name}", str(exc).replace(str(archive), archive.name))
            )
            continue
        skipped += [Skipped(f"{label}: {archive.name}/{name}", why) for name, why in done.skipped]
    return skipped


def _links(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if Path(directory, n).is_symlink()}
