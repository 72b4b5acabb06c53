"""What travels to the cluster: the assignment folder and rubric once, as bytes, and each
submission as its file CONTENTS (never paths the workers may not see); and how a worker
rebuilds a submission from them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import Any

from gradgrader.errors import ConfigError
from gradgrader.ingest.submission import IGNORED_DIRS, Submission
from gradgrader.result import Result
from gradgrader.rubric import Rubric, RubricItem
from gradgrader.secret import SECRET_FILE
from gradgrader.spec import Assignment

FILE_CAP = 5 << 20  # a student's other files bigger than this are not sent (the graded file always is)
FOLDER_CAP = 20 << 20  # bytes of one student's folder sent (the sandbox's own staging cap)
FOLDER_FILES = 2000  # files of one student's folder sent
ASSIGNMENT_CAP = 64 << 20  # bytes of an assignment folder sent to the cluster
ASSIGNMENT_SKIP = {"samples", *IGNORED_DIRS}


def _rubric_data(rubric: Rubric) -> dict[str, Any]:
    return {
        "assignment": rubric.assignment,
        "source": rubric.source,
        "items": [[i.check_id, i.points, i.partial, i.feedback, list(i.zero_for)] for i in rubric.items.values()],
    }


def rubric_from(data: dict[str, Any]) -> Rubric:
    items = {
        cid: RubricItem(cid, float(points), bool(partial), feedback, tuple(zero_for))
        for cid, points, partial, feedback, zero_for in data["items"]
    }
    return Rubric(data["assignment"], items, data["source"])


def pack_assignment(assignment: Assignment, rubric: Rubric) -> dict[str, Any]:
    """The assignment folder's files (not ``samples/``) as bytes, and the rubric as data."""
    root = assignment.root
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ASSIGNMENT_SKIP and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            if dirpath == str(root) and name == SECRET_FILE:
                continue  # the course's secret stays here: workers get the seed made with it
            data = path.read_bytes()
            total += len(data)
            if total > ASSIGNMENT_CAP:
                raise ConfigError(
                    f"{root}: the assignment folder holds more than {ASSIGNMENT_CAP >> 20} MiB (samples/ left out); "
                    f"too much to send to every worker"
                )
            files[path.relative_to(root).as_posix()] = data
    rubric_data = _rubric_data(rubric)
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    h.update(repr(rubric_data).encode())
    # The seed the inputs come from, with the course's secret already mixed in (the
    # secret itself never travels): workers generate the inputs local grading would.
    h.update(f"seed {assignment.seed}".encode())
    return {"name": root.name, "files": files, "rubric": rubric_data, "seed": assignment.seed, "digest": h.hexdigest()}


def _folder_files(folder: Path, graded: Path) -> dict[str, bytes]:
    """A student's folder as ``{relative path: bytes}``: no links, no caches, small files
    first come first served up to the caps; the graded file is always there."""
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path == graded or path.is_symlink() or not path.is_file():
                continue
            try:
                size = path.stat().st_size
                if size > FILE_CAP or total + size > FOLDER_CAP or len(files) >= FOLDER_FILES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            total += len(data)
            files[path.relative_to(folder).as_posix()] = data
    return files


def pack_submission(sub: Submission) -> dict[str, Any]:
    """One submission as data a worker can grade without seeing the TA's disk."""
    item: dict[str, Any] = {
        "id": sub.id,
        "path": str(sub.path or sub.folder or ""),  # what the result's "path" says (as local grading)
        "problem": sub.problem,
        "extra": dict(sub.extra),
        "name": None,  # the graded file, relative to the folder (or its bare name)
        "data": None,
        "files": None,  # the folder's other files, or None for a lone file
        "sha256": "",
        # a notebook's map from the generated module's lines back to its cells, so that
        # messages name cells as in local grading (a small frozen dataclass)
        "notebook": sub.notebook,
    }
    if sub.path is None:
        return item
    try:
        data = sub.path.read_bytes()
    except OSError as exc:
        item["problem"] = f"{sub.path.name} could not be read: {exc.strerror or exc}"
        return item
    item["data"] = data
    item["sha256"] = hashlib.sha256(data).hexdigest()
    folder = sub.folder
    if folder is not None:
        try:
            rel = sub.path.resolve().relative_to(folder.resolve())
        except ValueError:
            folder = None
        else:
            item["name"] = rel.as_posix()
            item["files"] = _folder_files(folder.resolve(), sub.path.resolve())
    if folder is None:
        item["name"] = sub.path.name
    return item


def result_from_json(obj: dict[str, Any]) -> Result:
    """The :class:`Result` whose ``to_json()`` is ``obj`` (a dict a worker sent back)."""
    return Result.from_json(obj)


def safe_rel(rel: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts or any(part in {"", ".", ".."} for part in p.parts):
        raise ValueError(f"unsafe path {rel!r}")
    return p



def unpack_submission(item: dict[str, Any], where: Path) -> Submission:
    extra = dict(item["extra"])
    notebook = item.get("notebook")
    if item["data"] is None:
        return Submission(item["id"], None, None, item["problem"] or "no file to grade", extra, notebook)
    where.mkdir(parents=True)
    if item["files"] is None:
        path = where / safe_rel(item["name"]).name
        path.write_bytes(item["data"])
        return Submission(item["id"], path, None, item["problem"], extra, notebook)
    work = where / "work"
    for rel, data in item["files"].items():
        try:
            target = work / safe_rel(rel)
        except ValueError:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    path = work / safe_rel(item["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(item["data"])
    return Submission(item["id"], path, work, item["problem"], extra, notebook)

