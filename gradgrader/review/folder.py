"""The results folder as review reads it (a ``gradgrader.run.RunFolder``), and re-grading
one submission: found the way ``grade`` found it, graded with the run's assignment,
rubric and input secret, appended as a new line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gradgrader.overrides import apply_overrides
from gradgrader.result import Result, as_result
from gradgrader.run import RunFolder, RunSettings

ResultJSON = dict[str, Any]  # a result as a line of results.jsonl holds it


def load(out: Path) -> list[Result]:
    """The results of ``out`` (latest line per submission) with TA overrides applied,
    sorted by submission id."""
    return RunFolder(out).reviewed()


_ID_PREFIX = b'{"submission": '


def preview(out: Path, first: int = 60) -> tuple[int, list[Result]]:
    """The number of submissions in ``out`` and the ``first`` of them by id, fast: only
    the ids of all lines are decoded (``results.dumps`` writes the id first), and only the
    shown lines are parsed. What a screen needs before ``load`` has read everything
    (toolong's trick); ``load`` stays the authority (e.g. for a corrupt last line)."""
    run = RunFolder(out)
    try:
        data = run.results_path.read_bytes()
    except OSError:
        return 0, []
    decoder = json.JSONDecoder()
    latest: dict[str, tuple[int, int]] = {}  # id -> span of its last line; no copies of lines
    start, end = 0, data.find(b"\n")
    while end >= 0:  # a torn last line has no newline and is left out, as read_results does
        sid: Any = None
        if data.startswith(_ID_PREFIX, start):
            head = data[start + len(_ID_PREFIX) : min(end, start + len(_ID_PREFIX) + 1024)]
            try:
                sid = decoder.raw_decode(head.decode("utf-8", "replace"))[0]
            except ValueError:
                sid = None
        if not isinstance(sid, str):
            try:
                obj = json.loads(data[start:end])
            except ValueError:
                obj = None
            sid = obj.get("submission") if isinstance(obj, dict) else None
        if isinstance(sid, str):
            latest[sid] = (start, end)
        start, end = end + 1, data.find(b"\n", end + 1)
    current = run.run_json().get("submissions")
    if isinstance(current, list):  # as read_results: only the class as last graded
        keep = set(current)
        latest = {sid: span for sid, span in latest.items() if sid in keep}
    shown: list[ResultJSON] = []
    for sid in sorted(latest):
        if len(shown) >= first:
            break
        try:
            a, b = latest[sid]
            obj = json.loads(data[a:b])
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("submission") == sid:
            shown.append(obj)
    return len(latest), apply_overrides(shown, run.overrides())


def load_run(out: Path | None) -> dict[str, Any]:
    """``out/run.json`` (the settings of the grade run), ``{}`` when missing."""
    return RunFolder(out).run_json() if out is not None else {}


def locate_submission(r: Result | ResultJSON, run: dict[str, Any], filename: str):  # -> ingest.Submission
    """The submission behind a result, found the way it was found the first time: the
    path ``check`` was given (``run["check_path"]``), else ``ID/`` or ``ID.py|.ipynb`` in
    the run's class folder (``ClassExport.root``), else the recorded file on its own.
    Never a guessed folder: a submission's folder goes on its import path."""
    from gradgrader.errors import SubmissionError
    from gradgrader.ingest import single
    from gradgrader.ingest.folders import file_submission, submission_in

    r = as_result(r)
    settings = RunSettings.from_json(run)
    sid = r.submission
    if settings.check_path is not None:
        return single(settings.check_path, filename)
    folder = settings.class_folder
    if folder is not None:
        d = folder / sid
        if d.is_dir():
            return submission_in(sid, d, filename)
        for suffix in (".py", ".ipynb"):
            if (folder / f"{sid}{suffix}").is_file():
                return file_submission(sid, folder / f"{sid}{suffix}", filename)
    recorded = Path(r.path)
    if folder is not None and recorded.name:
        # an id told apart from a look-alike (``alice~3f2a9c``, see ingest.distinct_ids) is
        # not its folder's name: the folder is the one the graded file was found in
        try:
            inside = recorded.resolve().relative_to(folder.resolve()).parts
        except ValueError:
            inside = ()
        if len(inside) > 1 and (folder / inside[0]).is_dir():
            return submission_in(sid, folder / inside[0], filename)
    if recorded.name and recorded.is_file():
        return file_submission(sid, recorded, filename)
    raise SubmissionError(
        f"cannot find submission {sid!r} any more (looked in {folder or 'no class folder'} and at {recorded})"
    )


def regrade(r: Result | ResultJSON, run: dict[str, Any]) -> ResultJSON:
    """Grade ``r``'s submission again with the run's assignment, rubric and input secret,
    in a sandbox at least as strong as ``grade`` demands (``run["strict_sandbox"]`` false
    relaxes that, as ``check`` does for a student's own file); return the new result's
    JSON (nothing is written). What the old result held beside grading (LMS metadata
    such as lateness or the student's LMS id, keys of another version) is carried over.
    Slow (a sandbox starts): call it off the UI thread."""
    from dataclasses import replace

    from gradgrader.errors import ConfigError
    from gradgrader.loading import load_for_grading, open_grader
    from gradgrader.results import dumps

    old = as_result(r)
    settings = RunSettings.from_json(run)
    where = settings.assignment or old.assignment
    if not where:
        raise ConfigError(
            "no assignment recorded for this result (run.json is missing): cannot re-grade"
        )
    spec, rubric = load_for_grading(where, settings.rubric, settings.input_secret)
    submission = locate_submission(old, run, spec.filename)
    with open_grader(
        spec, rubric, allow_weak=settings.allow_weak_sandbox, strict=settings.strict_sandbox,
        where="re-grading is refused here as `grade` refuses it: ", hidden=settings.hidden,
    ) as grader:
        result = grader.grade(submission)
    # The submission's own fields (LMS identity, lateness, notebook), keys this version
    # does not know, and the fingerprint of the run (re-graded with its assignment, rubric
    # and secret) stay as they were; what grading says is the new result's only. (An old
    # grader failure, time-outs or grader errors describe the old grading: not kept.)
    result = replace(
        result,
        extra={**old.extra, **result.extra},
        late=result.late if result.late is not None else old.late,
        lms=result.lms if result.lms is not None else old.lms,
        notebook=result.notebook if result.notebook is not None else old.notebook,
        fingerprint=result.fingerprint or old.fingerprint,
    )
    return json.loads(dumps(result))


def append_result(out: Path, result: Result | ResultJSON) -> None:
    """Append one result line to ``out/results.jsonl`` (``RunFolder.append``): it
    supersedes the submission's old line without editing it."""
    RunFolder(out).append(as_result(result))
