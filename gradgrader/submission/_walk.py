"""Walking and copying a student's folder without trusting its shape.

Everything here is iterative (an explicit stack, never recursion), so a folder nested
thousands deep cannot raise ``RecursionError``; depth is bounded (:data:`MAX_DEPTH`);
symbolic links are never followed or copied; FIFOs, sockets and device files are never
opened (reading a FIFO blocks forever): they are skipped and reported.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from gradgrader.errors import SubmissionError

MAX_DEPTH = 64  # folders below a student's folder; real homework is a handful deep


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def walk(
    top: Path, skip: Callable[[str], bool] = lambda _name: False, max_depth: int = MAX_DEPTH
) -> Iterator[tuple[Path, os.stat_result]]:
    """Every entry below ``top`` with its ``lstat`` (links not followed), parents first,
    names sorted; entries whose name ``skip`` accepts are left out (folders not entered).
    SubmissionError when the tree is deeper than ``max_depth``."""
    stack: list[tuple[Path, int]] = [(top, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise SubmissionError(f"{folder.name}/ cannot be read ({exc.strerror})") from None
        below: list[tuple[Path, int]] = []
        for name in names:
            if skip(name):
                continue
            path = folder / name
            try:
                st = path.lstat()
            except OSError:
                continue
            yield path, st
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > max_depth:
                    raise SubmissionError(
                        f"folders nested more than {max_depth} deep: not read"
                    )
                below.append((path, depth + 1))
        stack.extend(reversed(below))


def copy_tree(
    src: Path,
    dest: Path,
    skip: Callable[[str], bool] = lambda _name: False,
    max_bytes: int | None = None,
    max_files: int | None = None,
) -> tuple[int, int, list[tuple[str, str]]]:
    """Copy the folder ``src`` to ``dest`` (regular files and folders only): returns
    (bytes copied, files copied, [(relative name, why skipped)]). Links and special files
    are skipped and listed; past ``max_bytes``/``max_files`` SubmissionError."""
    dest.mkdir(parents=True, exist_ok=True)
    copied = files = 0
    skipped: list[tuple[str, str]] = []
    for path, st in walk(src, skip):
        rel = path.relative_to(src)
        target = dest / rel
        if stat.S_ISLNK(st.st_mode):
            skipped.append((str(rel), "symbolic link: not followed"))
        elif stat.S_ISDIR(st.st_mode):
            target.mkdir(exist_ok=True)
        elif stat.S_ISREG(st.st_mode):
            copied += st.st_size
            files += 1
            if max_bytes is not None and copied > max_bytes:
                raise SubmissionError(
                    f"more than {max_bytes / (1 << 20):.0f} MB of files: not read (the cap is per student)"
                )
            if max_files is not None and files > max_files:
                raise SubmissionError(
                    f"more than {max_files} files: not read (the cap is per student)"
                )
            shutil.copyfile(path, target, follow_symlinks=False)
        else:
            skipped.append((str(rel), f"{_kind(st.st_mode)}: skipped, never opened"))
    return copied, files, skipped


def check_tree(
    folder: Path,
    skip: Callable[[str], bool] = lambda _name: False,
    max_bytes: int | None = None,
    max_files: int | None = None,
) -> list[tuple[str, str]]:
    """Look over a student's folder before it is graded: SubmissionError when it is nested
    too deep or holds more than ``max_files`` files / ``max_bytes`` bytes (the caps are per
    student); returns the entries grading will leave out, [(relative name, why)]:
    links and special files (FIFOs, sockets, devices)."""
    size = files = 0
    left_out: list[tuple[str, str]] = []
    for path, st in walk(folder, skip):
        if stat.S_ISREG(st.st_mode):
            size += st.st_size
            files += 1
            if max_bytes is not None and size > max_bytes:
                raise SubmissionError(
                    f"more than {max_bytes / (1 << 20):.0f} MB of files: not graded (the cap is per student)"
                )
            if max_files is not None and files > max_files:
                raise SubmissionError(f"more than {max_files} files: not graded (the cap is per student)")
        elif stat.S_ISLNK(st.st_mode):
            left_out.append((str(path.relative_to(folder)), "symbolic link: not followed"))
        elif not stat.S_ISDIR(st.st_mode):
            left_out.append((str(path.relative_to(folder)), f"{_kind(st.st_mode)}: skipped, never opened"))
    return left_out
