"""A student's ``check`` remembers the course's own values for the next check (#17).

The first submission a grader process grades pays the course's first-time work: drawing
the cases' inputs, the reference's outputs and its time on them, the course's hooks
(the objective's finite differences at four step sizes, the diagnosis terms), the
reference's training run. A batch pays it once for the class; a student's ``check``
paid it on every run — ~10–15 ms of a ~125 ms check, most of it after the sandbox is up,
while the student's process waits. All of it depends on the course alone, never on a
student (:meth:`Course.computed`), so a check keeps it in the user's cache folder and
the next check of the same course starts from it (:meth:`Course.recall`); anything not
remembered is computed as always.

Only ``gradgrader check`` does this. ``grade``, the Gradescope autograder and the review
UI's re-grades compute every value afresh: a grade never depends on a cache.

A remembered file is used only for the very course that wrote it, on the same machine
and software: its name is a digest of the assignment as loaded (its TOML, the seed its
secret gives), the bytes of every file of the course's folder but its samples,
gradgrader's own source files (path, size, modification time), Python's, numpy's and
the course's declared packages' versions, the machine (its name, architecture and the
CPU features numpy dispatches on) and the BLAS thread settings. The file starts with
that key and the digest of what follows, so a copied, renamed or damaged file is
ignored (and the values computed again); what follows is read by an unpickler that
builds arrays, numbers, strings, containers and the course's composite arguments only,
so no file can make a check run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

from gradgrader._blas import BLAS_THREADS
from gradgrader._cache import cache_dir, write_atomically
from gradgrader.checks.prepared import Course
from gradgrader.spec import Assignment, Composite

FORMAT = 1
KEEP = 16  # remembered courses kept in the cache folder (the newest)
CAP = 16 << 20  # bytes: a course whose values are larger is not remembered
GROWTH = 1.1  # a recalled course is remembered again once it holds 10 % more values

# The only globals a remembered file may name: how numpy pickles arrays, dtypes and
# scalars, and the course's composite arguments (a frozen record of plain values).
_ALLOWED = {
    ("gradgrader.spec.models", "Composite"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
}


class _ValuesOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a remembered value")
        return super().find_class(module, name)


def _values(data: bytes) -> Any:
    return _ValuesOnly(io.BytesIO(data)).load()


def _sealed(data: bytes, key: str) -> bytes:
    """The file's bytes: the course's key and the digest of the values, then the values."""
    return f"{key} {hashlib.sha256(data).hexdigest()}\n".encode() + data


def _unsealed(sealed: bytes, key: str) -> Any:
    """The values of a file :func:`_sealed` wrote for ``key``; ValueError for a file of
    another course (renamed or copied) or whose bytes changed since."""
    head, _, data = sealed.partition(b"\n")
    if head != f"{key} {hashlib.sha256(data).hexdigest()}".encode():
        raise ValueError("not this course's remembered values, or damaged")
    return _values(data)


def _package_stamp() -> list[tuple[str, int, int]]:
    """gradgrader's own source files: a change to the code that computes a value (a
    checkout being edited, an upgrade) makes a new key."""
    root = Path(__file__).resolve().parent.parent
    found: list[tuple[str, int, int]] = []

    def walk(folder: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        walk(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat()
                    found.append((entry.path, st.st_size, st.st_mtime_ns))

    walk(str(root))
    return sorted(found)


def _course_files(root: Path) -> list[Path]:
    """Every regular file of the course's folder but its samples and bytecode."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("samples", "__pycache__"))
        found.extend(p for p in (Path(folder, f) for f in sorted(files)) if p.is_file())
    return found


# A course file up to this size is keyed by its bytes (its code, its TOML: a few KB);
# a larger one (a data set) by its size and modification time, not read on every check.
READ_UP_TO = 1 << 20


def course_key(assignment: Assignment) -> str:
    """The digest of everything the course's computed values depend on (see above)."""
    digest = hashlib.sha256()

    def add(part: object) -> None:
        digest.update(repr(part).encode())
        digest.update(b"\0")

    machine = os.uname()
    add((FORMAT, sys.version, np.__version__, machine.nodename, machine.machine))
    add(sorted(_cpu_features()))
    add([(name, os.environ.get(name)) for name in BLAS_THREADS])
    add([(name, getattr(sys.modules.get(name), "__version__", None)) for name in assignment.packages])
    add(assignment)  # the dataclasses' repr: every field, the secret's seed included
    for path in _course_files(assignment.root):
        add(str(path.relative_to(assignment.root)))
        info = path.stat()
        if info.st_size <= READ_UP_TO:
            digest.update(path.read_bytes())
        else:
            add((info.st_size, info.st_mtime_ns))
    add(_package_stamp())
    return digest.hexdigest()


def _cpu_features() -> list[str]:
    umath = sys.modules.get("numpy._core._multiarray_umath") or sys.modules.get("numpy.core._multiarray_umath")
    features = getattr(umath, "__cpu_features__", {})
    return [name for name, on in features.items() if on]


def _plain_layout(value: Any) -> bool:
    """Whether every array in ``value`` is C- or Fortran-ordered: the layouts a pickle
    keeps (another would come back C-ordered, and a norm of it differ in its last bit)."""
    if isinstance(value, np.ndarray):
        return bool(value.flags.c_contiguous or value.flags.f_contiguous)
    if isinstance(value, dict):
        return all(_plain_layout(v) for v in value.values())
    if isinstance(value, Composite):
        return isinstance(value.factory, str) and _plain_layout(dict(value.fields))
    if isinstance(value, (tuple, list)):
        return all(_plain_layout(v) for v in value)
    return True


class RememberedCourse:
    """The course values a check remembers: :meth:`recall` before grading, :meth:`keep`
    after (it writes only what is new)."""

    def __init__(self, course: Course, folder: Path | None = None) -> None:
        self.course = course
        self.folder = (cache_dir() / "courses") if folder is None else folder
        self.path: Path | None = None
        self.key = ""
        self.recalled: dict[str, int] = {}

    def recall(self) -> bool:
        """Start the course from what an earlier check remembered; whether there was any."""
        try:
            self.key = course_key(self.course.assignment)
        except Exception:  # noqa: BLE001 - a course file that cannot be read: nothing is remembered
            return False
        self.path = self.folder / f"{self.key}.pickle"
        try:
            computed = _unsealed(self.path.read_bytes(), self.key)
        except Exception:  # noqa: BLE001 - none yet, or a damaged or foreign file: computed again
            return False
        if not (isinstance(computed, dict) and all(isinstance(v, dict) for v in computed.values())):
            return False
        try:
            self.course.recall(computed)
        except Exception:  # noqa: BLE001 - values of another shape: none kept, all computed again
            for values in self.course.computed().values():
                values.clear()
            return False
        self.recalled = {kind: len(values) for kind, values in self.course.computed().items()}
        return True

    def keep(self) -> None:
        """Remember the course's values: all of them after a first check, and again when
        a check computed many the file did not hold (best effort: a folder that cannot be
        written only costs the next check time)."""
        if self.path is None:
            return
        computed = self.course.computed()
        total = sum(len(values) for values in computed.values())
        if self.recalled and total < GROWTH * sum(self.recalled.values()):
            # Recalled, and little new: a wrong answer's diagnosis computes a few of the
            # course's hooks on its own answers; rewritten for those, the file would grow
            # with every attempt. A first check that stopped early (its file did not
            # import) leaves far less than a full one: that is written again.
            return
        if not _plain_layout(computed):
            return
        try:
            data = pickle.dumps(computed, protocol=5)
            _values(data)  # only what the next check can read back
            data = _sealed(data, self.key)
        except Exception:  # noqa: BLE001 - a value that is not plain arrays and numbers: not remembered
            return
        if len(data) > CAP:
            return
        write_atomically(self.path, data)
        self.recalled = {kind: len(values) for kind, values in computed.items()}
        self._forget_oldest()

    def _forget_oldest(self) -> None:
        try:
            files = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
            for old in files[:-KEEP]:
                old.unlink()
        except OSError:
            pass
