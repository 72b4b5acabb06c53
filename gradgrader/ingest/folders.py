"""A plain class folder: one sub-folder per student (its id is the folder's name), or one
file per student directly in it (its id is the file name without ``.py``/``.ipynb``)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradgrader.errors import SubmissionError
from gradgrader.ingest._walk import check_tree, walk
from gradgrader.ingest.submission import (
    GRADABLE,
    IGNORED_DIRS,
    Submission,
    default_cache,
    distinct_ids,
    notebook_submission,
)

if TYPE_CHECKING:
    from gradgrader.ingest.limits import ZipLimits


def _hidden(name: str) -> bool:
    return name in IGNORED_DIRS or name.startswith(".")


def gradable_files(folder: Path) -> list[Path]:
    """Every .py and .ipynb file under ``folder`` (caches, checkpoints and dot files left
    out, links not followed), sorted. Iterative and depth-bounded (:func:`._walk.walk`):
    SubmissionError for a folder nested absurdly deep."""
    return sorted(
        p
        for p, st in walk(folder, _hidden)
        if p.suffix.lower() in GRADABLE and stat.S_ISREG(st.st_mode)
    )


def is_our_output(folder: Path) -> bool:
    """True for a folder gradgrader wrote (a ``grade`` OUT: ``run.json`` beside
    ``results.jsonl``): never a submission, even inside the class folder."""
    return (folder / "run.json").is_file() and (folder / "results.jsonl").is_file()


def pick_file(folder: Path, filename: str) -> tuple[Path | None, str]:
    """The file to grade in a student's folder: the one the assignment names (``softmax.py``,
    or the notebook ``softmax.ipynb``), at the top or, if unique, anywhere below; else the
    only .py or .ipynb file; otherwise say what is ambiguous (never guess)."""
    notebook = Path(filename).stem + ".ipynb"
    for name in (filename, notebook):
        if (folder / name).is_file() and not (folder / name).is_symlink():
            return folder / name, ""
    files = gradable_files(folder)
    for name in (filename, notebook):
        matches = [p for p in files if p.name.lower() == name.lower()]  # Softmax.PY counts
        if len(matches) == 1:
            return matches[0], ""
    if len(files) == 1:
        return files[0], ""
    if not files:
        return None, f"no {filename} (and no other .py file or notebook) in {folder.name}/"
    names = ", ".join(str(p.relative_to(folder)) for p in files[:6]) + (
        ", ..." if len(files) > 6 else ""
    )
    return None, (
        f"no {filename} in {folder.name}/ but several .py files or notebooks ({names}): "
        f"rename the one to grade to {filename}"
    )


def submission_in(
    sid: str,
    folder: Path,
    filename: str,
    cache: Path | None = None,
    extra: dict[str, Any] | None = None,
    limits: ZipLimits | None = None,
) -> Submission:
    """Student ``sid``'s submission in their own ``folder`` (a notebook converted into ``cache``).

    Never raises: what goes wrong while looking at this one folder (nested too deep, over
    the per-student caps of ``limits``, unreadable) is its problem (an error result when
    graded), never the class's."""
    if limits is None:  # a class's caps: a student's check of one file needs none (#17)
        from gradgrader.ingest.limits import ZipLimits

        limits = ZipLimits()
    try:
        check_tree(folder, _hidden, limits.student_bytes, limits.student_files)
        path, problem = pick_file(folder, filename)
    except Exception as exc:  # noqa: BLE001 - one student's folder never stops the class
        return Submission(sid, None, folder, unreadable(exc), dict(extra or {}))
    return make_submission(sid, path, folder, problem, filename, cache, extra)


def unreadable(exc: BaseException) -> str:
    """Why one student's submission could not be read, for their error result."""
    if isinstance(exc, SubmissionError):
        return f"the submission could not be read for grading: {exc}"
    return f"the submission could not be read for grading ({type(exc).__name__}: {exc})"


def make_submission(
    sid: str,
    path: Path | None,
    folder: Path | None,
    problem: str,
    filename: str,
    cache: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> Submission:
    """The submission for a picked file (:func:`pick_file`); a notebook is converted into
    ``cache`` (default: the user's cache folder). Never raises (see :func:`submission_in`)."""
    try:
        if path is not None and path.suffix.lower() == ".ipynb":
            return notebook_submission(sid, path, folder, cache or default_cache(), extra, filename)
        return Submission(sid, path, folder, problem, dict(extra or {}))
    except Exception as exc:  # noqa: BLE001 - one student's file never stops the class
        return Submission(sid, None, folder, unreadable(exc), dict(extra or {}))


def file_submission(
    sid: str,
    path: Path,
    filename: str,
    cache: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> Submission:
    """A submission that is a single file (no folder of its own)."""
    return make_submission(sid, path, None, "", filename, cache, extra)


def discover(
    root: Path,
    filename: str,
    cache: Path | None = None,
    exclude: tuple[Path, ...] = (),
    limits: ZipLimits | None = None,
) -> list[Submission]:
    """Every submission under ``root``, sorted by id (notebooks converted into ``cache``).
    Folders in ``exclude`` (the run's OUT) and any folder gradgrader wrote are not
    submissions; ids that collide once cleaned are told apart (:func:`distinct_ids`)."""
    if not root.exists():
        raise SubmissionError(f"{root}: no such folder")
    if not root.is_dir():
        raise SubmissionError(
            f"{root}: not a folder (give the folder that holds the class's submissions)"
        )
    found: list[Submission] = []
    skip = {p.resolve() for p in exclude}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED_DIRS:
            continue
        if entry.is_dir():
            if entry.resolve() in skip or is_our_output(entry):
                continue
            found.append(submission_in(entry.name, entry, filename, cache, limits=limits))
        elif entry.suffix.lower() in GRADABLE and entry.is_file():
            found.append(file_submission(entry.stem, entry, filename, cache))
    return sorted(distinct_ids(found), key=lambda s: s.id)


def single(path: Path, filename: str, cache: Path | None = None) -> Submission:
    """The submission ``gradgrader check PATH`` means: a .py file, a notebook, or a folder
    holding one."""
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or folder")
    if path.is_dir():
        # the caps protect a TA from a class; a student checking their own folder (which
        # may hold a virtualenv or a dataset) is not held to them: only depth is bounded
        from gradgrader.ingest.limits import ZipLimits

        unbounded = ZipLimits(student_bytes=1 << 62, student_files=1 << 62)
        sub = submission_in(path.resolve().name, path, filename, cache, limits=unbounded)
        if sub.path is None:
            raise SubmissionError(f"{path}: {sub.problem}")
        return sub
    if path.suffix not in GRADABLE:
        raise SubmissionError(
            f"{path}: not a Python file or a Jupyter notebook (expected {filename})"
        )
    # One staging rule for check and grade (issue 19): the file's folder is staged beside
    # it, with grade's caps, exactly as `check FOLDER` and `grade` stage a student's folder.
    return make_submission(
        path.stem, path, path.parent, "", filename, cache
    )  # an unreadable notebook: graded as an error
