"""Rich renderables for the review screens: the submissions table, class overview, one
submission's checks, its source and its output (the error heatmap is in ``heatmap``).
Plain rich, no textual: the screens place these in widgets, and tests can render them
on a rich Console.

Student-derived text (ids, messages, output, source) is passed through
``review.clean`` and wrapped in ``Text``/``Syntax``, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gradgrader.report import Finding, report
from gradgrader.result import CheckRecord, Result, as_result
from gradgrader.review import Stats, clean, num
from gradgrader.tui.heatmap import Heatmap, colour, heatmap_block  # noqa: F401 - re-exported

# --- submissions table -------------------------------------------------------------------


def score_cell(r: Result) -> Text:
    text = Text(f"{num(r.score)}/{num(r.max_score)}", style="green" if r.full_marks else "yellow")
    if r.override is not None and r.override.score is not None:
        text.append("*", style="bold cyan")
    elif r.override is not None:
        text.append("✎", style="cyan")
    return text


def status_cell(r: Result) -> Text:
    status = clean(r.status or "?")
    return Text(status, style="red" if status != "graded" else "")


def mistakes_cell(r: Result) -> Text:
    mistakes = [clean(m) for m in r.mistakes]
    if mistakes:
        return Text(", ".join(mistakes), style="magenta")
    if r.status != "graded":
        return Text(clean(r.message or "could not be graded").split("\n", 1)[0], style="red dim")
    failed = sum(1 for c in r.checks if not c.passed)
    return Text(f"{failed} check(s) failed" if failed else "", style="dim")


WIDE = 100  # from this terminal width on, the table also shows the checks column


def checks_cell(r: Result) -> Text:
    """``12/14 ✔`` checks passed, red when some failed; blank when none ran."""
    checks = r.checks
    if not checks:
        return Text("")
    passed = sum(1 for c in checks if c.passed)
    return Text(f"{passed}/{len(checks)}", style="green" if passed == len(checks) else "red")


def column_widths(rows: Sequence[Result], width: int) -> dict[str, int]:
    """Fixed column widths for the submissions table, from the data and the terminal width
    (fixed widths spare the table from measuring every cell of a large class). A wide
    terminal gets a ``checks`` column too; ``mistakes`` takes what is left."""
    sid = max([len("submission"), *(len(r.submission) for r in rows)])
    sid = min(sid, max(16, width // 3))
    score = max([len("score"), *(len(score_cell(r)) for r in rows)])
    widths = {"submission": sid, "score": score, "status": len("graded")}
    if width >= WIDE:
        widths["checks"] = max([len("checks"), *(len(checks_cell(r)) for r in rows)])
    rest = (
        width - sum(widths.values()) - 2 * (len(widths) + 1) - 4
    )  # cell padding, table margin, scrollbar
    widths["mistakes"] = max(20, rest)
    return widths


_CELLS = {
    "submission": lambda r: Text(clean(r.submission or "?")),
    "score": score_cell,
    "status": status_cell,
    "checks": checks_cell,
    "mistakes": mistakes_cell,
}


def table_row(
    r: Result, columns: Iterable[str] = ("submission", "score", "status", "mistakes")
) -> list[Text]:
    """The cells of one submission for the given columns."""
    return [_CELLS[c](r) for c in columns]


# --- overview ---------------------------------------------------------------------------


def summary_text(stats: Stats) -> Text:
    """Counts and central scores in two lines."""
    t = Text()
    t.append(f"{stats.total}", style="bold")
    t.append(" submissions: ")
    t.append(f"{stats.graded} graded", style="green")
    t.append(", ")
    t.append(f"{stats.errors} could not be loaded", style="red" if stats.errors else "dim")
    t.append(f", {stats.full} full marks, ")
    t.append(f"{stats.failing} to review", style="yellow" if stats.failing else "dim")
    if stats.overridden:
        t.append(f", {stats.overridden} overridden", style="cyan")
    t.append("\n")
    if stats.mean is not None and stats.median is not None:
        t.append("mean ")
        t.append(num(stats.mean), style="bold")
        t.append("  median ")
        t.append(num(stats.median), style="bold")
        t.append(f"  of {num(stats.max_score)} (graded submissions)")
    else:
        t.append("no graded submission yet", style="dim")
    return t


def histogram_view(stats: Stats, width: int = 36) -> Text:
    """One line per score bin: range, bar, count."""
    t = Text()
    peak = max(stats.histogram, default=0) or 1
    labels = [f"{num(a)}–{num(b)}" for a, b in zip(stats.edges, stats.edges[1:], strict=False)]
    lw = max((len(x) for x in labels), default=0)
    nw = len(str(peak))
    bar_w = max(4, width - lw - nw - 3)
    for i, (label, n) in enumerate(zip(labels, stats.histogram, strict=True)):
        if i:
            t.append("\n")
        t.append(label.rjust(lw), style="dim")
        t.append(" ")
        units = n / peak * bar_w
        full = int(units)
        bar = "█" * full + (
            " ▏▎▍▌▋▊▉"[int((units - full) * 8)] if full < bar_w and units - full >= 0.125 else ""
        )
        t.append(bar.ljust(bar_w), style="green" if i == len(labels) - 1 else "blue")
        t.append(" ")
        t.append(str(n).rjust(nw))
    return t


def mistake_line(mistake: str, count: int, total: int, width: int = 36) -> Text:
    """``sign-flipped ······ 12 (6%)`` for the overview's list of mistakes."""
    pct = f"{count} ({count / total:.0%})" if total else str(count)
    name = clean(mistake)
    gap = max(1, width - len(name) - len(pct))
    return Text.assemble(
        (name, "magenta"), (" " + "·" * (gap - 2) + " " if gap > 2 else " ", "dim"), pct
    )


# --- one submission ---------------------------------------------------------------------


def detail_header(r: Result, path: str | None = None) -> Text:
    t = Text()
    t.append(clean(r.submission or "?"), style="bold")
    t.append("  ")
    t.append_text(score_cell(r))
    t.append("  ")
    t.append_text(status_cell(r))
    o = report(r).override
    if o is not None:
        t.append("\n")
        if o.score is not None:
            t.append(f"overridden: {num(o.original_score)} → {num(o.score)}", style="cyan")
            if o.extra_credit:
                t.append(" (extra credit)", style="bold cyan")
        else:
            t.append("comment", style="cyan")
        t.append(f" by {clean(o.by or '?')} at {clean(o.at or '?')}", style="dim")
        if o.comment:
            t.append(": ")
            t.append(clean(o.comment), style="italic")
    t.append("\n")
    t.append(clean(path or r.path or "(no file)"), style="dim")
    return t


def _mark(ok: bool) -> Text:
    return Text("✔", style="green") if ok else Text("✘", style="bold red")


def _cases_line(cases: Iterable[dict[str, Any]]) -> Text | None:
    cases = [c for c in cases if isinstance(c, dict)]
    if not cases:
        return None
    t = Text("cases: ", style="dim")
    for i, c in enumerate(cases):
        if i:
            t.append("  ")
        ok = bool(c.get("passed"))
        t.append(clean(c.get("case", "?")))
        t.append(" ✔" if ok else " ✘", style="green" if ok else "red")
        err = c.get("error")
        if isinstance(err, (int, float)) and not isinstance(err, bool) and not ok:
            t.append(f" {err:.2g}", style="dim")
    return t


def _diagnosis(c: CheckRecord, finding: Finding, drawn: set[str]) -> list[RenderableType]:
    """What a failing check found: mistake and title, the explanation and next step (where
    the mistake is first named), where, the error heatmap (once per distinct map), cases,
    TA feedback."""
    body: list[RenderableType] = []
    diag = dict(finding.diagnosis)
    mistake = clean(finding.mistake)
    if mistake:
        d = Text()
        d.append(mistake, style="bold magenta")
        if finding.title:
            d.append(f" — {clean(finding.title)}")
        body.append(d)
        if finding.first:
            if finding.explanation:
                body.append(Text(clean(finding.explanation), style="italic"))
            if finding.next_step:
                body.append(Text.assemble(("Next step: ", "bold"), clean(finding.next_step)))
    elif finding.summary:
        body.append(Text(clean(finding.summary), style="magenta"))
    if finding.where:
        body.append(Text(f"where: {clean(finding.where)}", style="magenta"))
    key = repr(diag.get("error_map"))
    block = heatmap_block(diag) if key not in drawn else None
    if block is not None:
        drawn.add(key)
        body.append(block)
    cases = _cases_line(c.cases)
    if cases is not None:
        body.append(cases)
    if c.feedback:
        body.append(Text(f"From your TA: {clean(c.feedback)}", style="cyan"))
    return body


def advice_lines(c: CheckRecord) -> list[Text]:
    """A check's advice (never scored): what the function does beyond the assignment's
    contract, one line each, marked so nobody reads it as a deduction."""
    out = []
    for said in c.advice:
        line = Text("advice, not scored: ", style="bold cyan")
        line.append(f"{clean(c.id or '?')}: ", style="cyan")
        line.append(clean(str(said)))
        out.append(line)
    return out


def checks_view(result: Result | Mapping[str, Any]) -> RenderableType:
    """The checks grouped by function. A function whose checks all pass takes one line;
    a failing one lists its checks with ✔/✘, score and message, and under each failing
    check its diagnosis (see ``_diagnosis``). Text wraps with a hanging indent."""
    r = as_result(result)
    if r.status != "graded":
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=1)
        grid.add_column(ratio=1)
        grid.add_row(_mark(False), Text("could not be graded", style="bold red"))
        grid.add_row("", Text(clean(r.message or "no message")))
        return grid
    sections = report(r).sections
    if not sections:
        return Text("no checks ran", style="dim")
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=1)
    grid.add_column(ratio=1)
    drawn: set[str] = set()
    for section in sections:
        n = len(section.items)
        head = Text(clean(section.function), style="bold green" if section.passed else "bold red")
        head.append(f"  {num(section.score)}/{num(section.max_score)}", style="dim")
        if section.passed:
            head.append(f"  all {n} check(s) pass", style="dim")
            grid.add_row(_mark(True), head)
            for c in section.checks:
                for text in advice_lines(c):
                    grid.add_row("", text)
            continue
        if section.stub:
            # A stub fails every check the same way: one line, as `check` says it.
            head.append(f"  not implemented yet ({n} check(s))")
            grid.add_row(_mark(False), head)
            if section.stub_next_step:  # given once, at the first stub (later checks refer back)
                grid.add_row("", Text.assemble(("Next step: ", "bold"), clean(section.stub_next_step)))
            continue
        grid.add_row(_mark(False), head)
        inner = Table.grid(padding=(0, 1), expand=True)
        inner.add_column(width=1)
        inner.add_column(ratio=1)
        for item in section.items:
            c = item.check
            line = Text()
            line.append(clean(c.id or "?"), style="" if c.passed else "bold")
            line.append(f" [{num(c.score)}/{num(c.max_score)}] ", style="dim")
            line.append(clean(c.message), style="dim" if c.passed else "")
            if item.finding is None:
                line.no_wrap, line.overflow = True, "ellipsis"
                inner.add_row(_mark(True), Group(line, *advice_lines(c)))
                continue
            inner.add_row(_mark(False), Group(line, *_diagnosis(c, item.finding, drawn), *advice_lines(c)))
        grid.add_row("", inner)
    return grid


def source_view(code: str, highlight: set[int], theme: str = "ansi_dark") -> RenderableType:
    """The student's file with line numbers, the failing functions' lines highlighted."""
    from rich.syntax import Syntax  # pygments: only when a source is shown

    return Syntax(
        clean(code),
        "python",
        line_numbers=True,
        highlight_lines=highlight,
        theme=theme,
        word_wrap=False,
        tab_size=4,
        background_color="default",
    )


def output_view(output: str | None) -> Text:
    """What the submission printed, made safe for the terminal (escape sequences removed)."""
    if not output:
        return Text("(the submission printed nothing)", style="dim")
    return Text(clean(output).expandtabs(8))
