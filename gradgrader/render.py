"""Rich renderables for results: what a student reads after ``check``, what a TA sees
after ``grade``. Student-derived text is always wrapped in ``Text`` (never parsed as
markup) and has been stripped of control characters by the sandbox."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from gradgrader.report import Finding, Report, Section, not_implemented, points, report
from gradgrader.result import CheckRecord, Result, as_result

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["class_summary", "not_implemented", "output_console", "result_view", "summary_table"]

# Piped or in CI nothing reads the text at a terminal's width: a line is kept whole.
UNWRAPPED_WIDTH = 100_000


def output_console() -> Console:
    """The console ``check`` prints results on. At a terminal it wraps at the terminal's
    width (continuation lines keep their indent); piped or in CI (stdout not a terminal,
    and no ``COLUMNS`` set) it does not hard-wrap at 80 columns: each line stays whole."""
    console = Console(highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = UNWRAPPED_WIDTH
    return console


def _pad(renderable: RenderableType, left: int) -> Padding:
    """Indented, without padding the line out to the console's width."""
    return Padding(renderable, (0, 0, 0, left), expand=False)


def _score(score: float, max_score: float) -> str:
    return f"{points(score)}/{points(max_score)}"


def result_view(result: Result | Mapping[str, Any], show_passed: bool = True) -> RenderableType:
    """One submission: header, then each function's checks with ✔/✘, message, diagnosis."""
    rep = report(result)
    r = rep.result
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"{r.submission}", style="bold")
    shown = r.notebook or r.path or "no file"
    head.append(f"  ({shown}, assignment {r.assignment})  ", style="dim")
    head.append(f"score {rep.score_text()}", style="bold green" if rep.full_marks else "bold yellow")
    parts.append(head)
    # a notebook cell that failed and was skipped (issue 19): said under the header
    for said in rep.skipped_cells:
        parts.append(_pad(Text(f"! {said}", style="yellow"), 2))
    if not rep.graded:
        parts.append(_pad(Text(f"✘ {r.message or 'could not be graded'}", style="red"), 2))
        return Group(*parts)
    for section in rep.sections:
        if section.passed and not show_passed and not section.advising:
            continue
        if section.stub:
            parts.extend(_stub_lines(section))
            continue
        parts.append(Text(section.function, style="bold green" if section.passed else "bold red"))
        for item in section.items:
            c = item.check
            if c.passed and not show_passed and not c.advice:
                continue
            line = Text()
            line.append("✔ " if c.passed else "✘ ", style="green" if c.passed else "red")
            line.append(f"{c.id} ", style="bold")
            line.append(f"[{_score(c.score, c.max_score)}] ", style="dim")
            line.append(c.message)
            parts.append(_pad(line, 2))  # a wrapped message stays indented
            if item.finding is not None:
                parts.extend(_diagnosis_lines(item.finding, c.message))
                if c.feedback:
                    parts.append(_pad(Text(f"From your TA: {c.feedback}", style="cyan"), 6))
            parts.extend(_advice_lines(c))
    parts.extend(_printed_lines(rep))
    return Group(*parts)


def _stub_lines(section: Section) -> list[RenderableType]:
    """A starter's stub fails every check the same way: one line, not one block each."""
    n = len(section.items)
    line = Text(section.function, style="bold red")
    line.append(f": not implemented yet — {_score(section.score, section.max_score)}")
    line.append(f" ({n} check{'s' if n != 1 else ''})", style="dim")
    lines: list[RenderableType] = [line]
    if section.stub_next_step:
        lines.append(_pad(Text(f"Next step: {section.stub_next_step}"), 2))
    lines.extend(_pad(Text(f"From your TA: {said}", style="cyan"), 2) for said in section.staff_notes)
    return lines


def _printed_lines(rep: Report) -> list[RenderableType]:
    """What the file printed: never scored, but a warning numpy printed (divide by zero,
    overflow) is often the clue to what failed, so the last lines are shown when it did."""
    printed = rep.printed
    if not rep.result.output:
        return []
    n = len(printed)
    note = f"(your file printed {n} line{'s' if n != 1 else ''}; printing is ignored by the grader"
    if rep.result.score == rep.result.max_score:
        return [Text(note + ")", style="dim")]
    tail = printed[-4:]
    return [
        Text(note + ("; the last ones:)" if n > len(tail) else "; here it is:)"), style="dim"),
        *(_pad(Text(line, style="dim"), 2) for line in tail),
    ]


def _advice_lines(check: CheckRecord) -> list[RenderableType]:
    """A check's advice: what the function does beyond the assignment's contract. Never
    scored, and said so, so that nobody reads it as a deduction."""
    lines: list[RenderableType] = []
    for said in check.advice:
        text = Text("advice (not scored): ", style="bold cyan")
        text.append(str(said))
        lines.append(_pad(text, 6))
    return lines


def _diagnosis_lines(finding: Finding, message: str = "") -> list[RenderableType]:
    """Under a failing check: the mistake and its title, the explanation (once per
    mistake), where the error is, and one next step."""
    lines: list[RenderableType] = []
    if finding.mistake:
        d = Text()
        d.append(finding.mistake, style="bold magenta")
        if finding.title:
            d.append(f" — {finding.title}")
        lines.append(_pad(d, 6))
    if finding.where and finding.where not in message:
        lines.append(_pad(Text(f"where: {finding.where}", style="magenta"), 6))
    if finding.explanation and finding.first:
        lines.append(_pad(Text(finding.explanation, style="italic"), 6))
    if finding.next_step and finding.first:
        lines.append(_pad(Text(f"Next step: {finding.next_step}"), 6))
    return lines


def summary_table(results: Iterable[Result | Mapping[str, Any]]) -> Table:
    # rich's tables (and the fractions and decimal they import, ~3 ms) only for a class's
    # summary: a student's check draws no table (#17).
    from rich.table import Table

    table = Table(title="Grades", show_lines=False)
    table.add_column("submission")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("mistakes")
    for r in sorted(map(as_result, results), key=lambda r: r.submission):
        score = _score(r.score, r.max_score)
        if r.override is not None and r.override.score is not None:
            score += " (override)"  # the TA's score, as in grades.csv; the grader's is in results.jsonl
        table.add_row(
            Text(r.submission),
            Text(score, style="green" if r.full_marks else "yellow"),
            Text(r.status, style="red" if r.status == "error" else ""),
            Text(", ".join(r.mistakes) or _short(r)),
        )
    return table


def _short(r: Result, width: int = 60) -> str:
    """A result without mistake ids, in a few words: why it could not be graded (cut at
    a word, with an ellipsis), or that its failures match no known mistake."""
    if r.status == "graded":
        return "" if r.full_marks else "(no known mistake)"
    message = " ".join(r.message.split())
    if len(message) <= width:
        return message
    return message[:width].rsplit(" ", 1)[0] + " …"


def class_summary(given: Iterable[Result | Mapping[str, Any]]) -> Text:
    results = [as_result(r) for r in given]
    graded = [r for r in results if r.status == "graded"]
    scores = sorted(r.score for r in graded)
    text = Text()
    text.append(f"{len(results)} submissions: {len(graded)} graded, {len(results) - len(graded)} could not be loaded")
    if scores:
        mean = sum(scores) / len(scores)
        median = scores[len(scores) // 2] if len(scores) % 2 else (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
        text.append(f"; mean {mean:.2f}, median {median:.2f} of {results[0].max_score:g} (graded submissions)")
    common = Counter(m for r in results for m in r.mistakes).most_common(5)
    if common:
        text.append("\nmost common mistakes: " + ", ".join(f"{m} ({n})" for m, n in common))
    return text
