"""A whole class: its files (and an archive of earlier classes') read, fingerprinted and
compared, with the course's code subtracted, into one :class:`Report`; and where a
results folder's files and assignment are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gradgrader.similarity.compare import MAX_HOLDERS, MIN_MATCH, Match, compare
from gradgrader.similarity.fingerprints import Course, Document, course_code, fingerprint

NOTE = (
    "A match is a reason to look at two files side by side, not a verdict: students who "
    "solve the same exercise write similar code, and code from the starter file is "
    "already left out."
)


@dataclass(frozen=True)
class Report:
    """The outcome for a class: matches ranked, plus what was compared and left out."""

    matches: tuple[Match, ...]
    files: int  # class files compared
    archive_files: int
    course_files: tuple[str, ...]  # starter and helpers subtracted
    unreadable: tuple[str, ...]  # submissions whose file could not be read

    note = NOTE


def read_code(path: Path, limit: int = 1 << 20) -> str:
    """A submission's Python code: a ``.py`` file's text, or a notebook's code cells as
    one module (the form the grader ran). Undecodable bytes are replaced."""
    if path.suffix == ".ipynb":
        from gradgrader.submission.notebook import notebook_module

        return notebook_module(path, path.with_suffix(".py").name).source
    with path.open("rb") as f:
        return f.read(limit).decode("utf-8", errors="replace")


def course_files(assignment_root: Path | None, helpers: Sequence[str] = ()) -> list[Path]:
    """The assignment's starter file and the Python files among its helpers."""
    if assignment_root is None:
        return []
    files = [assignment_root / "starter.py"] if (assignment_root / "starter.py").is_file() else []
    for h in helpers:
        p = assignment_root / h
        if p.is_file() and p.suffix == ".py":
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.py") if q.is_file()))
    return files


def archive_files(folder: Path) -> list[Path]:
    """Every ``.py`` and ``.ipynb`` file under ``folder`` (checkpoints and caches left out)."""
    skip = {"__pycache__", ".ipynb_checkpoints"}
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix in (".py", ".ipynb") and p.is_file() and not skip & set(p.parts)
    )


def _fingerprint_files(items: Sequence[tuple[str, str, bool]], course: Course) -> list[Document | str]:
    """Fingerprint ``(id, path, archive)`` files; a file that cannot be read gives a
    message instead. Module-level: it runs in worker processes too."""
    out: list[Document | str] = []
    for sid, path, archive in items:
        try:
            code = read_code(Path(path))
        except (OSError, ValueError) as exc:
            out.append(f"{sid} ({getattr(exc, 'strerror', None) or exc})")
            continue
        out.append(fingerprint(sid, code, path, archive=archive, course=course))
    return out


PARALLEL_FROM = 200  # files: below this, starting worker processes costs more than it saves


def analyse(
    submissions: Sequence[tuple[str, Path]],
    course: Sequence[Path] = (),
    archive: Path | None = None,
    *, max_holders: int = MAX_HOLDERS, min_match: int = MIN_MATCH, jobs: int = 1,
) -> Report:
    """Compare the class's files (``(id, path)`` pairs) with each other and with every
    file of ``archive``, with the code of the ``course`` files subtracted.

    Tokenizing is most of the time (the ``tokenize`` module is pure Python): with
    ``jobs`` > 1 and a large class it is spread over that many processes. The index and
    the comparison run here."""
    boiler = course_code(read_code(p) for p in course)
    items = [(sid, str(path), False) for sid, path in submissions]
    if archive is not None:
        items += [(f"archive:{p.relative_to(archive).as_posix()}", str(p), True) for p in archive_files(archive)]
    if jobs > 1 and len(items) >= PARALLEL_FROM:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        size = -(-len(items) // (jobs * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        # spawn, not fork: the review app calls this from a thread
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = [d for part in pool.map(_fingerprint_files, chunks, [boiler] * len(chunks)) for d in part]
    else:
        done = _fingerprint_files(items, boiler)
    docs = [d for d in done if isinstance(d, Document)]
    unreadable = [d for d, (_, _, arch) in zip(done, items, strict=True) if isinstance(d, str) and not arch]
    matches = compare(docs, max_holders=max_holders, min_match=min_match)
    n_class = sum(1 for d in docs if not d.archive)
    return Report(
        tuple(matches), n_class, len(docs) - n_class, tuple(str(p) for p in course), tuple(unreadable)
    )


def class_submissions(out: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """The class's files from a results folder: each result's recorded file (found the way
    ``review`` finds it). Returns the ``(id, path)`` pairs and the ids whose file is gone."""
    from gradgrader.review import source_path
    from gradgrader.run import RunFolder

    folder = RunFolder(out)
    run = folder.run_json()
    found: list[tuple[str, Path]] = []
    missing: list[str] = []
    for r in sorted(folder.results(), key=lambda r: r.submission):
        path = source_path(r, run)
        if path is None:
            missing.append(r.submission)
        else:
            found.append((r.submission, path))
    return found, missing


def course_of_run(out: Path) -> tuple[list[Path], str | None]:
    """The starter and helper files of the assignment a results folder was graded with,
    and a warning when the assignment cannot be found (then nothing is subtracted)."""
    from gradgrader.assignment import load_assignment
    from gradgrader.errors import GradgraderError
    from gradgrader.run import RunFolder

    run = RunFolder(out).run_json()
    where = run.get("assignment_path") or run.get("assignment")
    if not where:
        return [], f"{out / 'run.json'} names no assignment: the starter file is not subtracted"
    try:
        spec = load_assignment(where if Path(where).is_dir() else run.get("assignment", where))
    except GradgraderError as exc:
        return [], f"the assignment {where} cannot be loaded ({exc}): the starter file is not subtracted"
    files = course_files(spec.root, spec.helpers)
    if not files:
        return [], f"the assignment {spec.name} has no starter.py: nothing is subtracted"
    return files, None
