"""Moodle "Download all submissions": one entry per student and submission plugin.

With "Download submissions in folders" (the default since Moodle 3.x) each student has a
folder ``Full Name_participantid_assignsubmission_file_/`` holding their files as they
uploaded them; without it every file is flat, ``Full Name_participantid_assignsubmission_file_name.py``.
Other plugins (``…_assignsubmission_onlinetext_…``) come the same way. ``participantid``
is the assignment's participant number, the one the grading worksheet names
"Participant N" — what the gradebook export uses to put grades back.

The id is ``Full Name_participantid`` (the export's own prefix); a student's entries
from every plugin are gathered into one folder of their own. ``extra["lms"]`` =
{kind, participant, name}.
"""

from __future__ import annotations

import re
from pathlib import Path

from gradgrader.ingest._files import Skipped, gather, visible
from gradgrader.ingest.archive import ZipLimits
from gradgrader.ingest.folders import submission_in, unreadable
from gradgrader.ingest.submission import Submission

# The LMS prefix is the FIRST "_<digits>_assignsubmission_<plugin>_" of a name (non-greedy
# ``name``): what follows is the student's own file name, which may itself look like a
# prefix (``x_7_assignsubmission_file_softmax.py``) and must never re-address the file to
# participant 7.
FOLDER = re.compile(
    r"^(?P<name>.+?)_(?P<pid>\d+)_assign(?:submission|feedback)_(?P<plugin>[a-z]+)_?$"
)
FILE = re.compile(
    r"^(?P<name>.+?)_(?P<pid>\d+)_assign(?:submission|feedback)_(?P<plugin>[a-z]+)_(?P<rest>.+)$"
)


def parse(entry: Path) -> tuple[str, str, str] | None:
    """(full name, participant id, file name inside the student's folder or "") of an
    entry of a Moodle download, or None if it is not one."""
    if entry.is_dir():
        m = FOLDER.match(entry.name)
        return (m["name"], m["pid"], "") if m else None
    m = FILE.match(entry.name)
    return (m["name"], m["pid"], m["rest"]) if m else None


def matches(entry: Path) -> bool:
    return parse(entry) is not None


def read(
    root: Path, filename: str, students: Path, cache: Path, limits: ZipLimits
) -> tuple[list[Submission], list[Skipped]]:
    """Every student in the Moodle download at ``root``; their files gathered under ``students``."""
    skipped: list[Skipped] = []
    by_pid: dict[str, tuple[str, list[tuple[Path, str]]]] = {}
    for entry in visible(root):
        parsed = parse(entry)
        if parsed is None:
            skipped.append(
                Skipped(
                    entry.name,
                    "not named like a Moodle submission (Full Name_participantid_assignsubmission_…)",
                )
            )
            continue
        name, pid, rest = parsed
        files = by_pid.setdefault(pid, (name, []))[1]
        if entry.is_dir():
            try:
                files += [(child, child.name) for child in visible(entry)]
            except OSError as exc:  # that student's folder only
                skipped.append(Skipped(entry.name, f"folder cannot be read ({exc.strerror})"))
        else:
            files.append((entry, rest))
    submissions = []
    for pid, (name, files) in sorted(by_pid.items(), key=lambda kv: (kv[1][0], kv[0])):
        sid = f"{name}_{pid}"
        folder = students / _folder_name(sid)
        lms = {"kind": "moodle", "participant": pid, "name": name}
        try:
            skipped += gather(files, folder, limits, sid)
        except Exception as exc:  # noqa: BLE001 - one student's files never stop the class
            submissions.append(Submission(sid, None, None, unreadable(exc), {"lms": lms}))
            continue
        submissions.append(submission_in(sid, folder, filename, cache, {"lms": lms}, limits))
    return submissions, skipped


def _folder_name(sid: str) -> str:
    # the raw name (distinct per participant id), never a path of its own
    return sid.replace("/", "_").replace("\\", "_").replace("\x00", "_") or "_"
