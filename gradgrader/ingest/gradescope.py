"""Gradescope "Export Submissions": a folder ``submission_<id>/`` per submission, plus
``submission_metadata.yml`` saying whose each one is::

    submission_123456:
      :submitters:
      - :name: Alice Smith
        :sid: '2001'
        :email: alice@example.edu
      :created_at: 2026-11-20 21:14:03.123456000 -08:00
      :score: 7.5

A group submission lists several submitters. The id is the folder's name
(``submission_123456``); ``extra["lms"]`` = {kind, submission_id, students: [{name,
sid, email}], created_at}. The file is Ruby's YAML: keys start with ``:`` and values may
carry Ruby tags (``!ruby/object:BigDecimal``), read here as plain values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradgrader.errors import SubmissionError
from gradgrader.ingest._files import Skipped, visible
from gradgrader.ingest.archive import ZipLimits
from gradgrader.ingest.folders import submission_in
from gradgrader.ingest.submission import Submission

METADATA = "submission_metadata.yml"
PREFIX = "submission_"


def _loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe YAML that reads any unknown tag (Ruby's) as the plain value it tags."""

    def plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:", plain)
    return Loader


def read_metadata(path: Path) -> dict[str, Any]:
    """``submission_metadata.yml`` as {folder name: record}; SubmissionError if unreadable."""
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SubmissionError(f"{path}: not a readable Gradescope metadata file ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SubmissionError(
            f"{path}: not a Gradescope metadata file (expected one entry per submission)"
        )
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def _get(record: dict[str, Any], key: str) -> Any:
    return record.get(f":{key}", record.get(key))


def students(record: dict[str, Any]) -> list[dict[str, str]]:
    """The submitters of one metadata record as [{name, sid, email}] (missing ones "")."""
    out = []
    for person in _get(record, "submitters") or []:
        if isinstance(person, dict):
            out.append(
                {
                    k: "" if _get(person, k) is None else str(_get(person, k))
                    for k in ("name", "sid", "email")
                }
            )
    return out


def matches(root: Path) -> bool:
    return (root / METADATA).is_file()


def read(
    root: Path, filename: str, cache: Path, limits: ZipLimits | None = None
) -> tuple[list[Submission], list[Skipped], list[str]]:
    """Every submission of the Gradescope export at ``root``."""
    meta = read_metadata(root / METADATA)
    skipped: list[Skipped] = []
    warnings: list[str] = []
    submissions = []
    seen = set()
    for entry in visible(root):
        if entry.name == METADATA:
            continue
        if not (entry.is_dir() and entry.name.startswith(PREFIX)):
            skipped.append(
                Skipped(
                    entry.name,
                    "not a submission_<id>/ folder (a PDF submission is not graded here)",
                )
            )
            continue
        record = meta.get(entry.name)
        seen.add(entry.name)
        people = students(record) if record else []
        if record is None:
            warnings.append(
                f"{entry.name} is not in {METADATA}: graded, but no student is known for it"
            )
        lms = {
            "kind": "gradescope",
            "submission_id": entry.name[len(PREFIX) :],
            "students": people,
            "created_at": str(_get(record, "created_at") or "") if record else "",
        }
        submissions.append(submission_in(entry.name, entry, filename, cache, {"lms": lms}, limits))
    missing = sorted(set(meta) - seen)
    if missing:
        warnings.append(
            f"{len(missing)} submission(s) in {METADATA} have no folder: {', '.join(missing[:5])}"
        )
    return submissions, skipped, warnings
