"""The error heatmap of a diagnosis: a matrix of |yours − reference| / max|reference|
drawn with half blocks (two rows per terminal line), with its legend. Plain rich."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from gradgrader.review import clean

# Low error is a calm blue, high error red; yellow in between keeps mid values readable on
# dark and light themes alike. NaN/inf (a gradient that blew up) are magenta.
_STOPS = ((0.0, (27, 42, 73)), (0.35, (59, 111, 182)), (0.65, (224, 195, 65)), (1.0, (215, 25, 28)))
_BAD = (200, 0, 200)


def _value(v: Any) -> float:
    if isinstance(v, bool):
        return float("nan")
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)  # "nan" / "inf" as results.dumps writes them
    except (TypeError, ValueError):
        return float("nan")


def colour(v: float, vmax: float) -> str:
    """Hex colour of ``v`` on the 0..``vmax`` scale."""
    if not math.isfinite(v):
        r, g, b = _BAD
        return f"#{r:02x}{g:02x}{b:02x}"
    t = 0.0 if vmax <= 0 else min(max(v / vmax, 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(_STOPS, _STOPS[1:], strict=False):
        if t <= t1:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            r, g, b = (round(a + (z - a) * f) for a, z in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    r, g, b = _STOPS[-1][1]
    return f"#{r:02x}{g:02x}{b:02x}"


class Heatmap:
    """A matrix of errors drawn with half blocks: each terminal line shows two matrix rows
    (``▀`` with the upper row as foreground, the lower as background), each matrix column
    ``cell`` characters wide, so a cell is roughly square."""

    def __init__(self, matrix: Sequence[Sequence[Any]], cell: int = 2) -> None:
        self.rows = [[_value(v) for v in row] for row in matrix if isinstance(row, (list, tuple))]
        self.width = max((len(r) for r in self.rows), default=0)
        finite = [v for r in self.rows for v in r if math.isfinite(v)]
        self.vmax = max(finite, default=0.0)
        self.cell = cell

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        w = self.width * self.cell
        return Measurement(w, w)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        block = "▀" * self.cell
        for top in range(0, len(self.rows), 2):
            upper = self.rows[top]
            lower = self.rows[top + 1] if top + 1 < len(self.rows) else None
            for j in range(self.width):
                fg = colour(upper[j], self.vmax) if j < len(upper) else None
                bg = colour(lower[j], self.vmax) if lower is not None and j < len(lower) else None
                if fg is None and bg is None:
                    yield Segment(" " * self.cell)
                elif fg is None:
                    yield Segment("▄" * self.cell, Style(color=bg))
                else:
                    yield Segment(block, Style(color=fg, bgcolor=bg))
            yield Segment.line()

    def legend(self) -> Text:
        """``0 ■■■■■ max`` with the scale the colours use."""
        text = Text("0 ", style="dim")
        for k in range(6):
            text.append("█", style=colour(self.vmax * k / 5, self.vmax))
        text.append(f" {self.vmax:.3g}", style="dim")
        if any(not math.isfinite(v) for r in self.rows for v in r):
            text.append("  █", style=colour(float("nan"), 1.0))
            text.append(" nan/inf", style="dim")
        return text


def heatmap_block(diagnosis: dict[str, Any]) -> RenderableType | None:
    """The diagnosis's error map with a caption, or None when it has none."""
    matrix = diagnosis.get("error_map")
    if (
        not isinstance(matrix, list)
        or not matrix
        or not all(isinstance(r, list) and r for r in matrix)
    ):
        return None
    hm = Heatmap(matrix)
    rows, cols = len(hm.rows), hm.width
    caption = Text("where it differs: |yours − reference| / max|reference|", style="dim")
    axes = clean(diagnosis.get("error_axes") or "")
    size = Text(
        f"{rows}×{cols}"
        + (f" ({axes})" if axes else "")
        + ("  pooled" if rows >= 16 or cols >= 16 else ""),
        style="dim",
    )
    return Group(caption, hm, Text.assemble(hm.legend(), "  ", size))
