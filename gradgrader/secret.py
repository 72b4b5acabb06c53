"""What decides a run's scores besides the submissions: the course's secret, the fingerprint."""

from __future__ import annotations

import hashlib
import os
import secrets

from gradgrader._version import __version__
from gradgrader.rubric import Rubric
from gradgrader.spec import Assignment

SECRET_ENV = "GRADGRADER_SECRET"
SECRET_FILE = "secret.txt"


def course_secret(assignment: Assignment, recorded: str | None = None) -> tuple[str, str]:
    """The secret course grading mixes into the inputs (:func:`gradgrader.cases.with_secret`),
    and where it comes from, first found first:

    1. the environment variable ``GRADGRADER_SECRET`` (one secret for a whole course);
    2. ``secret.txt`` in the assignment folder (never copied into a student pack);
    3. ``recorded``: the secret a results folder was graded with (``OUT/run.json``),
       so that ``--resume`` and re-grades give the same results;
    4. a new random one (128 bits), which the caller records.
    """
    env = os.environ.get(SECRET_ENV, "").strip()
    if env:
        return env, f"${SECRET_ENV}"
    path = assignment.root / SECRET_FILE
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text, str(path)
    if recorded:
        return recorded, "the results folder's run.json"
    return secrets.token_hex(16), "new"


def run_fingerprint(assignment: Assignment, rubric: Rubric) -> str:
    """A digest of everything that decides a score besides the submission: the
    assignment's files (spec, reference, hooks, feedback, helpers; not its samples), the
    seed its inputs are generated from (with the course's secret) and the rubric's
    points. ``grade --resume`` grades everyone again when it changes."""
    h = hashlib.sha256(__version__.encode())  # a new gradgrader may score differently
    h.update(f"seed {assignment.seed}".encode())
    for item in sorted(rubric.items.values(), key=lambda i: i.check_id):
        h.update(repr((item.check_id, item.points, item.partial, item.feedback, item.zero_for)).encode())
    root = assignment.root
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] != "samples" and "__pycache__" not in rel.parts:
            h.update(str(rel).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
