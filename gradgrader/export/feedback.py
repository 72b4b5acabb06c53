"""Per-student feedback in Markdown, from one result object (docs/result-schema.md).

A file says the score, lists every check with its points, then for each failing check
what was found, the named mistake's explanation and the next step (each explanation
once, however many checks share the mistake), and the course's rubric note. Text that
came from the grader's checks is escaped so it renders as written; the feedback texts
of the assignment (``feedback.toml``) are Markdown already and are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gradgrader.report import Item, points, report
from gradgrader.result import Result, as_result

_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EITHER = re.compile(r"[\\`*\[\]<>|\x00-\x08\x0b-\x1f\x7f]")


def escape(text: Any) -> str:
    """Plain text made safe to embed in Markdown (no emphasis, links, HTML or table breaks)."""
    text = str(text)
    if _EITHER.search(text) is None:
        return text  # most of a class's ~100 texts each: one search instead of two substitutions
    return _SPECIAL.sub(r"\\\1", _CONTROL.sub("", text))


def _block(text: str) -> str:
    """Multi-line plain text as an indented quote."""
    return "\n".join(f"> {escape(line)}" if line.strip() else ">" for line in text.splitlines())


def file_name(submission: str) -> str:
    """A file name for a submission id (anything but letters, digits, ``.-_`` becomes ``_``)."""
    name = re.sub(r"[^\w.-]+", "_", submission, flags=re.UNICODE).strip("._")
    return (name or "submission")[:100]


def _pts(x: float | None) -> str:
    return points(x, places=4)


def feedback_markdown(result: Result | Mapping[str, Any], title: str = "") -> str:
    """The feedback file for one result."""
    rep = report(result)
    r = rep.result
    out = [f"# {escape(title or r.assignment)}: feedback for {escape(r.submission)}", ""]
    if rep.people:
        out += [f"Students: {escape(', '.join(rep.people))}", ""]
    score = f"**Score: {rep.score_text(4, ' / ')}**"
    notes = []
    if rep.extra_credit:
        notes.append("extra credit")
    if r.late is True:
        notes.append("submitted late")
    if r.notebook:
        notes.append(
            f"graded from the notebook {escape(Path(r.notebook).name)}; cells are counted from 1, markdown cells included"
        )
    out += [score + (f" ({'; '.join(notes)})" if notes else ""), ""]
    override = rep.override
    if override is not None:
        if override.changed:
            extra = " (extra credit)" if override.extra_credit else ""
            out += [f"Your TA changed the score from {_pts(override.original_score)} to {_pts(override.score)}{extra}.", ""]
        if override.comment:
            out += ["Comment from your TA:", "", _block(override.comment), ""]
    if not rep.graded:
        out += ["Your file could not be graded:", "", _block(r.message or "it could not be loaded"), ""]
        printed = r.output.strip()
        if printed:
            out += [
                "What it printed before stopping (last lines):",
                "",
                *(f"    {line}" for line in printed.splitlines()[-20:]),
                "",
            ]
        out += ["Fix this first: none of your functions could be checked until the file loads.", ""]
        return "\n".join(out)
    failing = rep.failing
    advising = rep.advising
    if not failing and not rep.stubs:
        out += ["Every check passed. Well done." + (" Some advice below, never scored." if advising else ""), ""]
    out += ["## Checks", "", "| | check | function | points |", "|---|---|---|---|"]
    for c in r.checks:
        mark = "✅" if c.passed else "❌"
        out.append(f"| {mark} | {escape(c.id)} | `{escape(c.function)}` | {_pts(c.score)} / {_pts(c.max_score)} |")
    out.append("")
    if failing or rep.stubs:
        out += ["## What to fix", ""]
    for section in rep.stubs:
        n = len(section.items)
        out += [
            f"### `{escape(section.function)}`: not implemented yet ({_pts(section.score)} / {_pts(section.max_score)})",
            "",
            f"It still raises NotImplementedError, so its {n} check{'s' if n != 1 else ''} could not run. "
            "Write it, then run `gradgrader check` again.",
            "",
        ]
        if section.stub_next_step:  # given once, at the first stub (later checks refer back)
            out += [f"**Next step:** {section.stub_next_step.strip()}", ""]
        out += [line for said in section.staff_notes for line in (f"*From the course staff:* {said}", "")]
    for item in failing:
        out += _what_to_fix(item)
    if advising:
        out += [
            "## Advice (not scored)",
            "",
            "Beyond what the assignment asks, so it changes no points; worth knowing all the same.",
            "",
        ]
        for c in advising:
            out += [f"- **{escape(c.id)}**: {escape(said)}" for said in c.advice]
        out.append("")
    return "\n".join(out)


def _what_to_fix(item: Item) -> list[str]:
    """One failing check: what was found, the diagnosis (explained at its first
    occurrence, referred back to after), the next step and the course staff's note."""
    c, d = item.check, item.finding
    assert d is not None  # failing checks have a finding
    out = [f"### {escape(c.id)} ({_pts(c.score)} / {_pts(c.max_score)})", "", escape(c.message), ""]
    mistake = d.mistake
    if d.where:
        out += [f"Where: {escape(d.where)}", ""]
    if mistake and not d.first:
        out += [f"Diagnosis: **{d.title or escape(mistake)}** (`{escape(mistake)}`), explained above.", ""]
    elif d.title or d.explanation:
        out += [f"Diagnosis: **{d.title or escape(mistake)}**" + (f" (`{escape(mistake)}`)" if mistake else ""), ""]
        if d.explanation:
            out += [d.explanation.strip(), ""]
        if d.next_step:
            out += [f"**Next step:** {d.next_step.strip()}", ""]
    else:
        if mistake:
            out += [f"Diagnosis: `{escape(mistake)}`", ""]
        if d.next_step:
            # An unnamed failure still has the next step that ``check`` shows.
            out += [f"**Next step:** {d.next_step.strip()}", ""]
    if c.feedback:
        out += [f"*From the course staff:* {c.feedback.strip()}", ""]
    return out


def write_feedback(
    folder: Path, results: Iterable[Result | Mapping[str, Any]], title: str = "", only: set[str] | None = None
) -> list[Path]:
    """One ``<id>.md`` per result in ``folder`` (created); files of an earlier run that no
    result names any more are removed. With ``only`` (submission ids), just those files
    are rewritten (after one override) and nothing is removed. Returns the class's
    feedback files, sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for r in sorted(map(as_result, results), key=lambda r: r.submission):
        base = file_name(r.submission)
        name, n = f"{base}.md", 1
        while name in written:
            n += 1
            name = f"{base}-{n}.md"
        path = folder / name
        if only is None or r.submission in only:
            path.write_text(feedback_markdown(r, title), encoding="utf-8")
        written[name] = path
    if only is None:
        for old in folder.glob("*.md"):
            if old.name not in written:
                old.unlink()
    return sorted(written.values())
