"""Per-student feedback in Markdown, from one result object (SPEC §4).

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

from gradgrader.export.gradebook import field, number
from gradgrader.overrides import is_extra_credit
from gradgrader.render import not_implemented

_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(text: Any) -> str:
    """Plain text made safe to embed in Markdown (no emphasis, links, HTML or table breaks)."""
    return _SPECIAL.sub(r"\\\1", _CONTROL.sub("", str(text)))


def _block(text: str) -> str:
    """Multi-line plain text as an indented quote."""
    return "\n".join(f"> {escape(line)}" if line.strip() else ">" for line in text.splitlines())


def file_name(submission: str) -> str:
    """A file name for a submission id (anything but letters, digits, ``.-_`` becomes ``_``)."""
    name = re.sub(r"[^\w.-]+", "_", submission, flags=re.UNICODE).strip("._")
    return (name or "submission")[:100]


def feedback_markdown(r: Mapping[str, Any], title: str = "") -> str:
    """The feedback file for one result."""
    checks = [c for c in r.get("checks", []) if isinstance(c, dict)]
    lms = field(r, "lms")
    who = escape(r.get("submission", ""))
    people = [
        str(p["name"]) for p in lms.get("students", []) if isinstance(p, dict) and p.get("name")
    ]
    if lms.get("name"):
        people = [str(lms["name"])]
    out = [f"# {escape(title or r.get('assignment', ''))}: feedback for {who}", ""]
    if people:
        out += [f"Students: {escape(', '.join(people))}", ""]
    score = f"**Score: {number(r.get('score'))} / {number(r.get('max_score'))}**"
    notes = []
    if is_extra_credit(r.get("score"), r.get("max_score")):
        notes.append("extra credit")
    if r.get("late") is True:
        notes.append("submitted late")
    if r.get("notebook"):
        notes.append(
            f"graded from the notebook {escape(Path(str(r['notebook'])).name)}; cells are counted from 1, markdown cells included"
        )
    out += [score + (f" ({'; '.join(notes)})" if notes else ""), ""]
    override = r.get("override")
    if isinstance(override, dict):
        if override.get("score") is not None and override.get("original_score") != override.get("score"):
            extra = " (extra credit)" if is_extra_credit(override.get("score"), r.get("max_score")) else ""
            out += [f"Your TA changed the score from {number(override.get('original_score'))} to {number(override.get('score'))}{extra}.", ""]
        if override.get("comment"):
            out += ["Comment from your TA:", "", _block(str(override["comment"])), ""]
    if r.get("status") != "graded":
        out += [
            "Your file could not be graded:",
            "",
            _block(str(r.get("message") or "it could not be loaded")),
            "",
        ]
        printed = str(r.get("output") or "").strip()
        if printed:
            lines = printed.splitlines()[-20:]
            out += [
                "What it printed before stopping (last lines):",
                "",
                *(f"    {line}" for line in lines),
                "",
            ]
        out += ["Fix this first: none of your functions could be checked until the file loads.", ""]
        return "\n".join(out)
    failing = [c for c in checks if not c.get("passed")]
    advising = [c for c in checks if c.get("advice")]
    if not failing:
        out += ["Every check passed. Well done." + (" Some advice below, never scored." if advising else ""), ""]
    out += ["## Checks", "", "| | check | function | points |", "|---|---|---|---|"]
    for c in checks:
        mark = "✅" if c.get("passed") else "❌"
        out.append(
            f"| {mark} | {escape(c.get('id', ''))} | `{escape(c.get('function', ''))}` "
            f"| {number(c.get('score'))} / {number(c.get('max_score'))} |"
        )
    out.append("")
    if failing:
        out += ["## What to fix", ""]
    explained: set[str] = set()
    by_fn: dict[str, list[dict[str, Any]]] = {}
    for c in checks:
        by_fn.setdefault(str(c.get("function", "")), []).append(c)
    stubs = {fn for fn, cs in by_fn.items() if not_implemented(cs)}
    for fn in stubs:
        cs = by_fn[fn]
        out += [
            f"### `{escape(fn)}`: not implemented yet "
            f"({number(sum(float(c.get('score') or 0) for c in cs))} / {number(sum(float(c.get('max_score') or 0) for c in cs))})",
            "",
            f"It still raises NotImplementedError, so its {len(cs)} check{'s' if len(cs) != 1 else ''} could not run. "
            "Write it, then run `gradgrader check` again.",
            "",
        ]
        for said in dict.fromkeys(str(c["feedback"]).strip() for c in cs if c.get("feedback")):
            out += [f"*From the course staff:* {said}", ""]
    for c in failing:
        if str(c.get("function", "")) in stubs:
            continue
        out += [
            f"### {escape(c.get('id', ''))} ({number(c.get('score'))} / {number(c.get('max_score'))})",
            "",
        ]
        out += [escape(c.get("message", "")), ""]
        d = field(c, "diagnosis")
        mistake = str(d.get("mistake") or "")
        if d.get("where"):
            out += [f"Where: {escape(d['where'])}", ""]
        if mistake and mistake in explained:
            out += [
                f"Diagnosis: **{d.get('title') or escape(mistake)}** (`{escape(mistake)}`), explained above.",
                "",
            ]
        elif d.get("title") or d.get("explanation"):
            explained.add(mistake)
            head = f"Diagnosis: **{d.get('title') or escape(mistake)}**" + (
                f" (`{escape(mistake)}`)" if mistake else ""
            )
            out += [head, ""]
            if d.get("explanation"):
                out += [str(d["explanation"]).strip(), ""]
            if d.get("next_step"):
                out += [f"**Next step:** {str(d['next_step']).strip()}", ""]
        else:
            if mistake:
                out += [f"Diagnosis: `{escape(mistake)}`", ""]
            if d.get("next_step"):
                # An unnamed failure still has the next step that ``check`` shows.
                out += [f"**Next step:** {str(d['next_step']).strip()}", ""]
        if c.get("feedback"):
            out += [f"*From the course staff:* {str(c['feedback']).strip()}", ""]
    if advising:
        out += [
            "## Advice (not scored)",
            "",
            "Beyond what the assignment asks, so it changes no points; worth knowing all the same.",
            "",
        ]
        for c in advising:
            out += [f"- **{escape(c.get('id', ''))}**: {escape(said)}" for said in c["advice"]]
        out.append("")
    return "\n".join(out)


def write_feedback(
    folder: Path, results: Iterable[Mapping[str, Any]], title: str = "", only: set[str] | None = None
) -> list[Path]:
    """One ``<id>.md`` per result in ``folder`` (created); files of an earlier run that no
    result names any more are removed. With ``only`` (submission ids), just those files
    are rewritten (after one override) and nothing is removed. Returns the class's
    feedback files, sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for r in sorted(results, key=lambda r: str(r.get("submission", ""))):
        base = file_name(str(r.get("submission", "")))
        name, n = f"{base}.md", 1
        while name in written:
            n += 1
            name = f"{base}-{n}.md"
        path = folder / name
        if only is None or r.get("submission") in only:
            path.write_text(feedback_markdown(r, title), encoding="utf-8")
        written[name] = path
    if only is None:
        for old in folder.glob("*.md"):
            if old.name not in written:
                old.unlink()
    return sorted(written.values())
