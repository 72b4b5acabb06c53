"""Unpacking a zip someone else made, without trusting it.

A class export is a zip of files written by students, so nothing in it is trusted:

- an entry whose name is absolute (``/etc/x``, ``C:/x``) or climbs out with ``..`` is
  skipped and reported: no file is ever written outside the extraction folder (the
  final path is checked again after normalisation);
- an entry marked as a symbolic link (Unix mode bits in the zip) is skipped: links are
  never created, so none can be followed later;
- caps bound the work: the number of entries (checked before anything is written), the
  size of one entry and of all of them (declared sizes checked first, real bytes counted
  while copying, since a header can lie), and the compression ratio of large entries
  (a zip bomb is small on disk and huge unpacked).

Only regular files and folders are created, with permissions 0644/0755.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gradgrader.errors import SubmissionError
from gradgrader.ingest.limits import ZipLimits

NOISE = ("__MACOSX/", ".DS_Store", "Thumbs.db")  # archive tools' litter: skipped silently
CHUNK = 1 << 16


@dataclass
class Extracted:
    """What :func:`safe_extract` did: the files written and the entries it refused."""

    root: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry name, why)


def _utf8_name(info: zipfile.ZipInfo) -> str:
    """The entry's name. Without the UTF-8 flag zipfile reads names as CP437, but tools
    such as Info-ZIP store UTF-8 without setting it ("Bj├╢rn" for "Björn"): a name whose
    bytes are valid UTF-8 is UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def entry_path(name: str) -> PurePosixPath | None:
    """The relative path an entry may be written to, or None if the name is unsafe
    (absolute, a drive letter, ``..``, NUL)."""
    text = name.replace("\\", "/")
    if not text or "\x00" in text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return PurePosixPath(*parts)


def safe_extract(archive: Path, dest: Path, limits: ZipLimits | None = None) -> Extracted:
    """Unpack ``archive`` into ``dest`` (created; must be empty), refusing what is unsafe
    (see the module docstring). Raises SubmissionError when the archive is unreadable or
    as a whole over the caps; a single bad entry is only skipped and reported.

    Two passes: every entry is checked first (its path, its kind, its declared size and
    ratio) and the declared total capped before anything is written; then the accepted
    entries are written, counting real bytes."""
    limits = limits or ZipLimits()
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SubmissionError(f"{archive}: not a readable zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise SubmissionError(
                f"{archive}: {len(infos)} entries, more than the {limits.max_entries} allowed; not unpacked"
            )
        dest.mkdir(parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise SubmissionError(f"{dest}: the extraction folder must be empty")
        root = dest.resolve()
        done = Extracted(dest)
        plan, total = _plan(infos, root, limits, done)
        if total > limits.max_total_bytes:
            raise SubmissionError(
                f"{archive}: would unpack to {_mb(total)}, more than the {_mb(limits.max_total_bytes)} allowed; not unpacked"
            )
        _write_plan(zf, plan, root, limits, done)
    return done


def _is_noise(name: str) -> bool:
    """Archive tools' litter (``__MACOSX/``, ``.DS_Store``...): skipped without a word."""
    return (
        name.startswith(NOISE)
        or PurePosixPath(name.replace("\\", "/")).name in NOISE
        or "/__MACOSX/" in name
    )


def _plan(
    infos: list[zipfile.ZipInfo], root: Path, limits: ZipLimits, done: Extracted
) -> tuple[list[tuple[zipfile.ZipInfo, Path]], int]:
    """The entries to write, each with its checked target, and their declared total size;
    the refused ones are added to ``done.skipped`` with the reason. Entry names are
    decoded (:func:`_utf8_name`) in place."""
    plan: list[tuple[zipfile.ZipInfo, Path]] = []
    total = 0
    for info in infos:
        name = info.filename = _utf8_name(info)
        if _is_noise(name):
            continue
        target = _target(info, root, limits)
        if isinstance(target, str):
            done.skipped.append((name, target))
            continue
        if not info.is_dir():
            total += info.file_size
        plan.append((info, target))
    return plan, total


def _target(info: zipfile.ZipInfo, root: Path, limits: ZipLimits) -> Path | str:
    """Where the entry may be written under ``root`` (resolved), or why it is refused:
    an unsafe path, a symbolic link, or (for a file) a declared size or compression
    ratio over the caps."""
    name = info.filename
    rel = entry_path(name)
    if rel is None:
        return "unsafe path (absolute or with '..'): would land outside the extraction folder"
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or target == root:
        return "unsafe path: would land outside the extraction folder"
    if _is_symlink(info):
        return "symbolic link: links are never extracted"
    if info.is_dir():
        return target
    if info.file_size > limits.max_entry_bytes:
        return f"{_mb(info.file_size)} unpacked, more than the {_mb(limits.max_entry_bytes)} allowed per file"
    if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        return f"compressed {ratio:.0f}:1, more than {limits.max_ratio:.0f}:1 (a zip bomb?)"
    return target


def _write_plan(
    zf: zipfile.ZipFile, plan: list[tuple[zipfile.ZipInfo, Path]], root: Path, limits: ZipLimits, done: Extracted
) -> None:
    """Create the planned folders and files; real bytes are counted against each entry's
    declared size and the archive's total cap. An entry that fails is removed and added
    to ``done.skipped``; the others to ``done.files``."""
    written = 0
    for info, target in plan:
        if info.is_dir():
            try:  # a file of the same name came first (``notes`` and ``notes/``)
                _mkdirs(root, target)
            except OSError as exc:
                done.skipped.append((info.filename, f"folder not created ({exc})"))
            continue
        try:
            _mkdirs(root, target.parent)
            written += _copy(
                zf,
                info,
                target,
                min(info.file_size, limits.max_entry_bytes),
                limits.max_total_bytes - written,
            )
        except _TooBig as exc:
            _discard(target)
            done.skipped.append((info.filename, str(exc)))
            continue
        except (
            OSError,
            zipfile.BadZipFile,
            EOFError,
            RuntimeError,
            NotImplementedError,
        ) as exc:
            _discard(target)
            done.skipped.append((info.filename, f"unreadable entry ({exc})"))
            continue
        done.files.append(target)


class _TooBig(Exception):
    pass


def _discard(target: Path) -> None:
    """Remove a partly written file; nothing to do when ``target`` could not even be made
    (its folder is a file: ``notes`` then ``notes/x``)."""
    try:
        if target.is_file() and not target.is_symlink():
            target.unlink()
    except OSError:
        pass


def _mkdirs(root: Path, folder: Path) -> None:
    """Create ``folder`` under ``root``, refusing to pass through anything but a real
    folder (a file or link of the same name made earlier)."""
    rel = folder.relative_to(root)
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            raise OSError(f"{current.relative_to(root)} is not a folder")
        if not current.exists():
            current.mkdir(mode=0o755)


def _copy(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, declared: int, budget: int
) -> int:
    """Copy one entry, counting real bytes: more than declared (a lying header) or than
    the remaining budget stops it."""
    if target.is_symlink() or target.is_dir():
        raise OSError(f"{target.name} exists and is not a file")
    count = 0
    fd = os.open(
        target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644
    )
    with zf.open(info) as src, os.fdopen(fd, "wb") as out:
        while chunk := src.read(CHUNK):
            count += len(chunk)
            if count > declared:
                raise _TooBig("larger than its header says: stopped")
            if count > budget:
                raise _TooBig("over the archive's total size cap: stopped")
            out.write(chunk)
    return count


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n < 1 << 30 else f"{n / (1 << 30):.1f} GB"
