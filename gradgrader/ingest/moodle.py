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


# every place a prefix could start, overlapping ones too (a lookahead matches no text)
PREFIX = re.compile(r"(?=(?P<prefix>_(?P<pid>\d+)_assign(?:submission|feedback)_[a-z]+_))")


def candidates(entry: Path) -> list[tuple[str, str, str]]:
    """Every way to read ``entry``'s name as (full name, participant id, file name inside
    the student's folder or ""), first prefix first. Usually one; more when the student's
    file name (or full name) itself holds something shaped like a prefix."""
    name = entry.name
    if entry.is_dir():
        return [(m["name"], m["pid"], "") for m in [FOLDER.match(name)] if m]
    found = []
    for m in PREFIX.finditer(name):
        rest = name[m.start() + len(m["prefix"]) :]
        if m.start() > 0 and rest:
            found.append((name[: m.start()], m["pid"], rest))
    return found


def parse(entry: Path) -> tuple[str, str, str] | None:
    """(full name, participant id, file name inside the student's folder or "") of an
    entry of a Moodle download, or None if it is not one: the first prefix (a file name
    that looks like a prefix stays the file's name)."""
    found = candidates(entry)
    return found[0] if found else None


def matches(entry: Path) -> bool:
    return parse(entry) is not None


def _choose(
    found: list[tuple[str, str, str]], known: dict[str, set[str]]
) -> tuple[str, str, str] | None:
    """The reading of an ambiguous name that agrees with the participants' names read from
    unambiguous entries: one whose (name, participant) is known, else the first whose
    participant is not known under another name; None when every reading would put the
    file under someone known by another name."""
    for cand in found:
        if cand[0] in known.get(cand[1], set()):
            return cand
    for cand in found:
        if cand[1] not in known:
            return cand
    return None


def read(
    root: Path, filename: str, students: Path, cache: Path, limits: ZipLimits
) -> tuple[list[Submission], list[Skipped]]:
    """Every student in the Moodle download at ``root``; their files gathered under ``students``.

    A file is only ever placed under its own uploader: its name is read at the first
    prefix; when it has several possible prefixes, the reading whose (name, participant)
    the unambiguous entries confirm wins, and a name no reading fits is skipped, listed."""
    skipped: list[Skipped] = []
    by_pid: dict[str, tuple[str, list[tuple[Path, str]]]] = {}
    entries = [(entry, candidates(entry)) for entry in visible(root)]
    known: dict[str, set[str]] = {}
    for _entry, found in entries:
        if len(found) == 1:
            known.setdefault(found[0][1], set()).add(found[0][0])
    for entry, found in entries:
        if not found:
            skipped.append(
                Skipped(
                    entry.name,
                    "not named like a Moodle submission (Full Name_participantid_assignsubmission_…)",
                )
            )
            continue
        parsed = found[0] if len(found) == 1 else _choose(found, known)
        if parsed is None:
            skipped.append(
                Skipped(entry.name, "ambiguous name: every reading would give it to another participant")
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
