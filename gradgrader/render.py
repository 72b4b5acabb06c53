"""Rich renderables for results: what a student reads after ``check``, what a TA sees
after ``grade``. Student-derived text is always wrapped in ``Text`` (never parsed as
markup) and has been stripped of control characters by the sandbox."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

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


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _score(score: float, max_score: float) -> str:
    return f"{_num(score)}/{_num(max_score)}"


def result_view(result: dict[str, Any], show_passed: bool = True) -> RenderableType:
    """One submission: header, then each function's checks with ✔/✘, message, diagnosis."""
    parts: list[RenderableType] = []
    full = result["status"] == "graded" and result["score"] >= result["max_score"] - 1e-9
    head = Text()
    head.append(f"{result['submission']}", style="bold")
    shown = result.get("notebook") or result.get("path") or "no file"
    head.append(f"  ({shown}, assignment {result['assignment']})  ", style="dim")
    head.append(f"score {_score(result['score'], result['max_score'])}", style="bold green" if full else "bold yellow")
    parts.append(head)
    # a notebook cell that failed and was skipped (issue 19): said under the header
    for said in str(result.get("output") or "").splitlines():
        if said.startswith("gradgrader: cell ") and "failed and was skipped" in said:
            parts.append(_pad(Text(f"! {said.removeprefix('gradgrader: ')}", style="yellow"), 2))
    if result["status"] == "error":
        parts.append(_pad(Text(f"✘ {result.get('message', 'could not be graded')}", style="red"), 2))
        return Group(*parts)
    by_fn: dict[str, list[dict[str, Any]]] = {}
    for check in result["checks"]:
        by_fn.setdefault(check["function"], []).append(check)
    explained: set[str] = set()
    for fn, checks in by_fn.items():
        ok = all(c["passed"] for c in checks)
        if ok and not show_passed and not any(c.get("advice") for c in checks):
            continue
        if not_implemented(checks):
            # A starter's stub fails every check the same way: one line, not one block each.
            line = Text(f"{fn}", style="bold red")
            line.append(f": not implemented yet — {_score(sum(c['score'] for c in checks), sum(c['max_score'] for c in checks))}")
            line.append(f" ({len(checks)} check{'s' if len(checks) != 1 else ''})", style="dim")
            parts.append(line)
            diag = checks[0].get("diagnosis") or {}
            if diag.get("next_step") and "not-implemented" not in explained:
                explained.add("not-implemented")
                parts.append(_pad(Text(f"Next step: {diag['next_step']}"), 2))
            for said in dict.fromkeys(str(c["feedback"]) for c in checks if c.get("feedback")):
                parts.append(_pad(Text(f"From your TA: {said}", style="cyan"), 2))
            continue
        parts.append(Text(f"{fn}", style="bold green" if ok else "bold red"))
        for c in checks:
            if c["passed"] and not show_passed and not c.get("advice"):
                continue
            line = Text()
            line.append("✔ " if c["passed"] else "✘ ", style="green" if c["passed"] else "red")
            line.append(f"{c['id']} ", style="bold")
            line.append(f"[{_score(c['score'], c['max_score'])}] ", style="dim")
            line.append(c["message"])
            parts.append(_pad(line, 2))  # a wrapped message stays indented
            diag = c.get("diagnosis") or {}
            if not c["passed"]:
                parts.extend(_diagnosis_lines(diag, explained, c["message"]))
            if not c["passed"] and c.get("feedback"):
                parts.append(_pad(Text(f"From your TA: {c['feedback']}", style="cyan"), 6))
            parts.extend(_advice_lines(c))
    if result.get("output"):
        printed = str(result["output"]).rstrip("\n").splitlines()
        n = len(printed)
        note = f"(your file printed {n} line{'s' if n != 1 else ''}; printing is ignored by the grader"
        if result.get("score") != result.get("max_score"):
            # Not scored, but a warning numpy printed (divide by zero, overflow) is often
            # the clue to what failed: show the last lines.
            tail = printed[-4:]
            parts.append(Text(note + ("; the last ones:)" if n > len(tail) else "; here it is:)"), style="dim"))
            parts.extend(_pad(Text(line, style="dim"), 2) for line in tail)
        else:
            parts.append(Text(note + ")", style="dim"))
    return Group(*parts)


def not_implemented(checks: list[dict[str, Any]]) -> bool:
    """Whether every check of one function failed only because it is still a stub (it
    raises ``NotImplementedError``), with no advice to show."""
    return bool(checks) and all(
        not c.get("passed")
        and (c.get("diagnosis") or {}).get("mistake") == "not-implemented"
        and not c.get("advice")
        for c in checks
    )


def _advice_lines(check: dict[str, Any]) -> list[RenderableType]:
    """A check's advice: what the function does beyond the assignment's contract. Never
    scored, and said so, so that nobody reads it as a deduction."""
    lines: list[RenderableType] = []
    for said in check.get("advice") or ():
        text = Text("advice (not scored): ", style="bold cyan")
        text.append(str(said))
        lines.append(_pad(text, 6))
    return lines


def _diagnosis_lines(diag: dict[str, Any], explained: set[str], message: str = "") -> list[RenderableType]:
    """Under a failing check: the mistake and its title, the explanation (once per
    mistake), where the error is, and one next step."""
    lines: list[RenderableType] = []
    mistake = diag.get("mistake")
    if mistake:
        d = Text()
        d.append(mistake, style="bold magenta")
        if diag.get("title"):
            d.append(f" — {diag['title']}")
        lines.append(_pad(d, 6))
    if diag.get("where") and diag["where"] not in message:
        lines.append(_pad(Text(f"where: {diag['where']}", style="magenta"), 6))
    first_time = not mistake or mistake not in explained
    if diag.get("explanation") and first_time:
        lines.append(_pad(Text(diag["explanation"], style="italic"), 6))
    if diag.get("next_step") and first_time:
        lines.append(_pad(Text(f"Next step: {diag['next_step']}"), 6))
    if mistake:
        explained.add(mistake)
    return lines


def summary_table(results: Iterable[dict[str, Any]]) -> Table:
    table = Table(title="Grades", show_lines=False)
    table.add_column("submission")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("mistakes")
    for r in sorted(results, key=lambda r: r["submission"]):
        full = r["status"] == "graded" and r["score"] >= r["max_score"] - 1e-9
        score = _score(r["score"], r["max_score"])
        if (r.get("override") or {}).get("score") is not None:
            score += " (override)"  # the TA's score, as in grades.csv; the grader's is in results.jsonl
        table.add_row(
            Text(r["submission"]),
            Text(score, style="green" if full else "yellow"),
            Text(r["status"], style="red" if r["status"] == "error" else ""),
            Text(", ".join(r.get("mistakes", [])) or _short(r)),
        )
    return table


def _short(r: dict[str, Any], width: int = 60) -> str:
    """A result without mistake ids, in a few words: why it could not be graded (cut at
    a word, with an ellipsis), or that its failures match no known mistake."""
    if r["status"] == "graded":
        return "" if r["score"] >= r["max_score"] - 1e-9 else "(no known mistake)"
    message = " ".join(str(r.get("message", "")).split())
    if len(message) <= width:
        return message
    return message[:width].rsplit(" ", 1)[0] + " …"


def class_summary(results: list[dict[str, Any]]) -> Text:
    graded = [r for r in results if r["status"] == "graded"]
    scores = sorted(r["score"] for r in graded)
    text = Text()
    text.append(f"{len(results)} submissions: {len(graded)} graded, {len(results) - len(graded)} could not be loaded")
    if scores:
        mean = sum(scores) / len(scores)
        median = scores[len(scores) // 2] if len(scores) % 2 else (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
        text.append(f"; mean {mean:.2f}, median {median:.2f} of {results[0]['max_score']:g} (graded submissions)")
    common = Counter(m for r in results for m in r.get("mistakes", [])).most_common(5)
    if common:
        text.append("\nmost common mistakes: " + ", ".join(f"{m} ({n})" for m, n in common))
    return text
