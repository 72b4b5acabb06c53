"""Canvas "Download Submissions": one flat folder (or zip) of every student's files.

Canvas names each file ``login_userid_attachmentid_originalname`` — ``login_LATE_userid_…``
when it came after the due date — where ``login`` is the student's sortable name run
together (``smithjohn``) and ``userid`` their Canvas user id (the gradebook's "ID"
column). A file the student uploaded again under the same name comes back with ``-1``,
``-2``… before its extension (``softmax-1.py``): the highest number (then the newest
attachment id) is kept and graded under its original name.

Each student's files are copied into a folder of their own (so no student can import
another's module) and the usual rule picks the file to grade. The submission's id is
the login (``login_userid`` when two students share a login); ``extra`` carries
``late`` and ``lms`` = {kind, login, user_id, files}.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from gradgrader.ingest._files import Skipped, gather, visible
from gradgrader.ingest._walk import check_tree
from gradgrader.ingest.archive import ZipLimits
from gradgrader.ingest.folders import make_submission, pick_file, unreadable
from gradgrader.ingest.submission import GRADABLE, Submission

NAME = re.compile(
    r"^(?P<login>.+?)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<attachment>\d+)_(?P<name>.+)$"
)
RESUBMITTED = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)$")


@dataclass(frozen=True)
class CanvasFile:
    path: Path
    login: str
    user_id: str
    attachment: int
    late: bool
    original: str  # the name the student gave it (resubmission suffix removed)
    version: int  # 0 for the first upload, N for "-N"


def parse_name(name: str) -> CanvasFile | None:
    """The parts of a Canvas download file name, or None if it is not one."""
    m = NAME.match(name)
    if not m:
        return None
    original, version = m["name"], 0
    stem, suffix = Path(original).stem, Path(original).suffix
    r = RESUBMITTED.match(stem)
    if r and suffix in GRADABLE:
        # only .py/.ipynb lose the suffix: a module name cannot contain "-" anyway, while
        # a data file called "run-2.csv" may well be meant
        original, version = r["stem"] + suffix, int(r["n"])
    return CanvasFile(
        Path(name),
        m["login"],
        m["user"],
        int(m["attachment"]),
        m["late"] == "LATE",
        original,
        version,
    )


def matches(entry: Path) -> bool:
    return entry.is_file() and NAME.match(entry.name) is not None


def read(
    root: Path, filename: str, students: Path, cache: Path, limits: ZipLimits
) -> tuple[list[Submission], list[Skipped]]:
    """Every student in the Canvas download at ``root``; their files gathered under ``students``."""
    skipped: list[Skipped] = []
    by_user: dict[str, list[CanvasFile]] = {}
    for entry in visible(root):
        parsed = parse_name(entry.name) if entry.is_file() else None
        if parsed is None:
            skipped.append(
                Skipped(
                    entry.name,
                    "not named like a Canvas submission (login_userid_attachmentid_name)",
                )
            )
            continue
        by_user.setdefault(parsed.user_id, []).append(dataclasses.replace(parsed, path=entry))
    logins: dict[str, set[str]] = {}
    for uid, files in by_user.items():
        logins.setdefault(files[0].login, set()).add(uid)
    submissions = []
    for uid, files in sorted(by_user.items(), key=lambda kv: (kv[1][0].login, kv[0])):
        login = files[0].login
        sid = login if len(logins[login]) == 1 else f"{login}_{uid}"
        latest: dict[str, CanvasFile] = {}
        for f in sorted(files, key=lambda f: (f.version, f.attachment)):
            if f.original in latest:
                old = latest[f.original]
                skipped.append(
                    Skipped(
                        old.path.name,
                        f"older upload of {f.original} (the newer {f.path.name} is graded)",
                    )
                )
            latest[f.original] = f
        kept = sorted(latest.values(), key=lambda f: f.original)
        folder = students / (sid if sid.strip(".") else f"_{sid}")  # never '..'
        lms = {
            "kind": "canvas",
            "login": login,
            "user_id": uid,
            "files": [f.path.name for f in kept],
        }
        try:  # one student's files never stop the class: their error result instead
            skipped += gather([(f.path, f.original) for f in kept], folder, limits, sid)
            check_tree(folder, lambda name: name.startswith("."), limits.student_bytes, limits.student_files)
            path, problem = pick_file(folder, filename)
        except Exception as exc:  # noqa: BLE001
            late = any(f.late for f in kept)
            submissions.append(
                Submission(sid, None, None, unreadable(exc), {"late": late, "lms": lms})
            )
            continue
        graded = next((f for f in kept if path is not None and path == folder / f.original), None)
        late = graded.late if graded is not None else any(f.late for f in kept)
        submissions.append(
            make_submission(sid, path, folder, problem, filename, cache, {"late": late, "lms": lms})
        )
    return submissions, skipped
